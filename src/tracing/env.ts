/**
 * Whether tracing is on, read from the standard OpenTelemetry environment variables only (no SDK is loaded to
 * decide): on when an OTLP endpoint is set or OTEL_TRACES_EXPORTER names an exporter, off when neither is set,
 * when OTEL_TRACES_EXPORTER is `none`, or when OTEL_SDK_DISABLED is true. Also the two variables that change what
 * spans carry: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT and LLM_EXTPROC_TRACE_CONVENTIONS.
 */
import { TRACE_CONVENTIONS, type TraceConventions } from '../config/schema.js';
import type { SpanSettings } from './types.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TracingDecision =
  | { readonly on: false; readonly problem?: string }
  | { readonly on: true; readonly exporter: 'otlp'; readonly protocol: OtlpProtocol }
  | { readonly on: true; readonly exporter: 'console' };

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === undefined || text === '' ? undefined : text;
}

export function tracingFromEnv(env: NodeJS.ProcessEnv): TracingDecision {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { on: false };
  const exporters = (value(env, 'OTEL_TRACES_EXPORTER') ?? '').toLowerCase().split(',').map((name) => name.trim()).filter((name) => name !== '');
  const endpoint = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (exporters.includes('none')) return { on: false };
  if (exporters.length === 0 && endpoint === undefined) return { on: false };
  const exporter = exporters[0] ?? 'otlp';
  if (exporter === 'console') return { on: true, exporter: 'console' };
  if (exporter !== 'otlp') return { on: false, problem: `OTEL_TRACES_EXPORTER=${exporter} is not supported (otlp, console or none): tracing is off` };
  const protocol = (value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? value(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf').toLowerCase();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    return { on: false, problem: `OTLP protocol ${protocol} is not supported (http/protobuf or http/json): tracing is off` };
  }
  return { on: true, exporter: 'otlp', protocol };
}

/** Span settings the environment imposes over the config's. */
export function spanSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<SpanSettings> {
  const overrides: { captureContent?: boolean; conventions?: TraceConventions } = {};
  if (value(env, 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT')?.toLowerCase() === 'true') overrides.captureContent = true;
  const conventions = value(env, 'LLM_EXTPROC_TRACE_CONVENTIONS')?.toLowerCase();
  if (conventions !== undefined && (TRACE_CONVENTIONS as readonly string[]).includes(conventions)) overrides.conventions = conventions as TraceConventions;
  return overrides;
}
