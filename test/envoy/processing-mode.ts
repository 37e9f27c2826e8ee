/**
 * ProcessingMode handling (contract §2): normalised modes, mode_override merging, content-length stripping.
 */
import type { RuntimeConfig } from '../../src/config/load.js';
import type { BodySendMode, ProcessingMode } from '../../src/server/ext-proc-types.js';

export type Direction = 'request' | 'response';

/** A ProcessingMode with DEFAULT resolved: headers DEFAULT = SEND, trailers DEFAULT = SKIP, body unset = NONE. */
export interface EffectiveMode {
  request_header_mode: 'SEND' | 'SKIP';
  response_header_mode: 'SEND' | 'SKIP';
  request_body_mode: BodySendMode;
  response_body_mode: BodySendMode;
  request_trailer_mode: 'SEND' | 'SKIP';
  response_trailer_mode: 'SEND' | 'SKIP';
}

function bodyMode(value: unknown): BodySendMode {
  const known: readonly BodySendMode[] = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED'];
  return known.find((mode) => mode === value) ?? 'NONE';
}

export function effectiveMode(mode: ProcessingMode): EffectiveMode {
  return {
    request_header_mode: mode.request_header_mode === 'SKIP' ? 'SKIP' : 'SEND',
    response_header_mode: mode.response_header_mode === 'SKIP' ? 'SKIP' : 'SEND',
    request_body_mode: bodyMode(mode.request_body_mode),
    response_body_mode: bodyMode(mode.response_body_mode),
    request_trailer_mode: mode.request_trailer_mode === 'SEND' ? 'SEND' : 'SKIP',
    response_trailer_mode: mode.response_trailer_mode === 'SEND' ? 'SEND' : 'SKIP',
  };
}

/**
 * ext_proc.cc effectiveModeOverride: starts from the filter config's mode; DEFAULT (or unset) header and
 * trailer modes keep it; body modes are always taken as given, so an unset one becomes NONE.
 */
export function applyModeOverride(configured: ProcessingMode, override: ProcessingMode): EffectiveMode {
  const base = effectiveMode(configured);
  const header = (value: ProcessingMode['request_header_mode'], keep: 'SEND' | 'SKIP'): 'SEND' | 'SKIP' =>
    value === 'SEND' || value === 'SKIP' ? value : keep;
  return {
    request_header_mode: header(override.request_header_mode, base.request_header_mode),
    response_header_mode: header(override.response_header_mode, base.response_header_mode),
    request_trailer_mode: header(override.request_trailer_mode, base.request_trailer_mode),
    response_trailer_mode: header(override.response_trailer_mode, base.response_trailer_mode),
    request_body_mode: bodyMode(override.request_body_mode),
    response_body_mode: bodyMode(override.response_body_mode),
  };
}

export function bodyModeOf(mode: EffectiveMode, direction: Direction): BodySendMode {
  return direction === 'request' ? mode.request_body_mode : mode.response_body_mode;
}

export function sendsHeaders(mode: EffectiveMode, direction: Direction): boolean {
  return (direction === 'request' ? mode.request_header_mode : mode.response_header_mode) === 'SEND';
}

export function sendsTrailers(mode: EffectiveMode, direction: Direction): boolean {
  return (direction === 'request' ? mode.request_trailer_mode : mode.response_trailer_mode) === 'SEND';
}

/** processor_state.h shouldRemoveContentLength (§4). */
export function shouldRemoveContentLength(mode: EffectiveMode, direction: Direction): boolean {
  const body = bodyModeOf(mode, direction);
  if (body === 'STREAMED' || body === 'BUFFERED_PARTIAL' || body === 'FULL_DUPLEX_STREAMED') return true;
  return body === 'BUFFERED' && !sendsHeaders(mode, direction);
}

/** The router-level filter, as the generated bootstrap configures it (src/envoy/ext-proc-filter.ts). */
export const ROUTER_PROCESSING_MODE: ProcessingMode = {
  request_header_mode: 'SEND',
  response_header_mode: 'SEND',
  request_body_mode: 'BUFFERED',
  response_body_mode: 'BUFFERED',
  request_trailer_mode: 'SKIP',
  response_trailer_mode: 'SKIP',
};

/** The upstream-level filter, as the generated bootstrap configures it (src/envoy/ext-proc-filter.ts). */
export const UPSTREAM_PROCESSING_MODE: ProcessingMode = {
  request_header_mode: 'SEND',
  response_header_mode: 'SKIP',
  request_body_mode: 'NONE',
  response_body_mode: 'NONE',
  request_trailer_mode: 'SKIP',
  response_trailer_mode: 'SKIP',
};

/**
 * The upstream-level filter's mode for a config: with envoy.attemptResponseHeaders it also sends each attempt's
 * response headers (Envoy >= 1.37 behaviour, see upstream-attempt.ts).
 */
export function upstreamProcessingMode(config: RuntimeConfig): ProcessingMode {
  return config.file.envoy.attemptResponseHeaders ? { ...UPSTREAM_PROCESSING_MODE, response_header_mode: 'SEND' } : UPSTREAM_PROCESSING_MODE;
}
