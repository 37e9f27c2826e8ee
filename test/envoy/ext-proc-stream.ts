/**
 * One ext_proc filter instance's gRPC stream, as Envoy's ext_proc.cc / processor_state.cc drive it
 * (contract §1, §2.4, §6, §7): lazy open, one pending-state machine per direction, same-oneof check,
 * message timer, override_message_timeout, mode_override, dynamic metadata, immediate responses, OK close,
 * gRPC errors, and the two close forms (half-close + reset, or graceful half-close).
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../../src/server/proto.js';
import type {
  ProcessingMode,
  ProcessingRequest,
  ProcessingResponse,
  Struct,
} from '../../src/server/ext-proc-types.js';
import type { MetadataStore } from './metadata.js';
import { applyModeOverride, effectiveMode, type Direction, type EffectiveMode } from './processing-mode.js';
import { toStruct, type JsonLike } from '../../src/server/struct.js';
import { durationToMs, replaceWhitespace } from './proto-values.js';
import type { CounterName, ExtProcStreamRecord } from './types.js';
import { immediateToLocalReply, type LocalReply } from './local-reply.js';
import { MessageTimers } from './message-timer.js';

export type PhaseKind = 'headers' | 'body' | 'trailers';

/** What the filter does after a message it sent. */
export type Outcome =
  | { type: 'answer'; response: ProcessingResponse }
  /** Processing is complete without error (server closed with OK, or fail-open): carry on unmodified. */
  | { type: 'passthrough' }
  /** A local reply (or reset) has been issued for the request: stop. */
  | { type: 'stopped' };

export interface ExtProcStreamOptions {
  client: grpc.Client;
  level: 'router' | 'upstream';
  attempt?: number;
  processingMode: ProcessingMode;
  allowModeOverride: boolean;
  messageTimeoutMs: number;
  maxMessageTimeoutMs: number;
  gracefulClose: boolean;
  remoteCloseTimeoutMs: number;
  failureModeAllow: boolean;
  /** request_attributes, evaluated: sent once, in the first request-direction message. */
  requestAttributes?: Struct;
  metadata: MetadataStore;
  /** metadata_options.forwarding_namespaces.untyped: sent in metadata_context.filter_metadata on every message. */
  forwardingNamespaces?: readonly string[];
  count(name: CounterName): void;
  /** Called once the stream is opened (lazily, on the first message). */
  onOpen(record: ExtProcStreamRecord): void;
  /** sendLocalReply for the HTTP stream (the request decides between a reply and a reset). */
  onLocalReply(reply: LocalReply): void;
}

interface Pending {
  kind: PhaseKind;
  resolve(outcome: Outcome): void;
}

interface DirectionState {
  pending: Pending[];
  sentAttributes: boolean;
}

let nextStreamId = 1;
const ANSWER_KIND: Record<string, [Direction, PhaseKind] | undefined> = {
  request_headers: ['request', 'headers'],
  request_body: ['request', 'body'],
  request_trailers: ['request', 'trailers'],
  response_headers: ['response', 'headers'],
  response_body: ['response', 'body'],
  response_trailers: ['response', 'trailers'],
};

export class ExtProcStream {
  /** processing_complete_: a one-way latch. */
  complete = false;
  mode: EffectiveMode;
  record: ExtProcStreamRecord | undefined;
  private call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse> | undefined;
  private closed = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private protocolConfigSent = false;
  private readonly states: Record<Direction, DirectionState> = {
    request: { pending: [], sentAttributes: false },
    response: { pending: [], sentAttributes: false },
  };
  private readonly timers: MessageTimers;

  constructor(private readonly options: ExtProcStreamOptions) {
    this.mode = effectiveMode(options.processingMode);
    this.timers = new MessageTimers(() => this.onMessageTimeout(), options.maxMessageTimeoutMs);
  }

  /** addDynamicMetadata: each forwarding namespace's dynamic metadata, read at send time. */
  private metadataContext(): NonNullable<ProcessingRequest['metadata_context']> {
    const filterMetadata: Record<string, Struct> = {};
    for (const namespace of this.options.forwardingNamespaces ?? []) {
      const values = this.options.metadata.data[namespace];
      if (values) filterMetadata[namespace] = toStruct(values as { [key: string]: JsonLike });
    }
    return Object.keys(filterMetadata).length > 0 ? { filter_metadata: filterMetadata } : {};
  }

  /** Sends one message and waits for its answer (or for whatever ends processing first). */
  send(direction: Direction, kind: PhaseKind, payload: object): Promise<Outcome> {
    if (this.complete) return Promise.resolve({ type: 'passthrough' });
    const call = this.open();
    const state = this.states[direction];
    const request: ProcessingRequest = { metadata_context: this.metadataContext() };
    if (direction === 'request' && this.options.requestAttributes && !state.sentAttributes) {
      request.attributes = { 'envoy.filters.http.ext_proc': this.options.requestAttributes };
    }
    if (direction === 'request') state.sentAttributes = true;
    Object.assign(request, { [`${direction}_${kind}`]: payload });
    if (!this.protocolConfigSent) {
      this.protocolConfigSent = true;
      request.protocol_config = {
        request_body_mode: this.mode.request_body_mode,
        response_body_mode: this.mode.response_body_mode,
        send_body_without_waiting_for_header_response: false,
      };
    }
    const outcome = new Promise<Outcome>((resolve) => state.pending.push({ kind, resolve }));
    this.timers.start(direction, this.options.messageTimeoutMs);
    this.options.count('stream_msgs_sent');
    this.record?.sent.push(request);
    call.write(request);
    return outcome;
  }

  /** handleErrorResponse: an invalid answer (bad mutation, content-length mismatch) -> local reply 500. */
  fail(message: string): void {
    if (this.complete) return;
    this.finish('stopped');
    this.closeNow();
    this.options.onLocalReply({ status: 500, body: Buffer.alloc(0), details: replaceWhitespace(message) });
  }

  /** Body mode change after CONTINUE_AND_REPLACE (the direction's body and trailers are no longer sent). */
  setBodyModeNone(direction: Direction): void {
    if (direction === 'request') Object.assign(this.mode, { request_body_mode: 'NONE', request_trailer_mode: 'SKIP' });
    else Object.assign(this.mode, { response_body_mode: 'NONE', response_trailer_mode: 'SKIP' });
  }

  /** closeStreamMaybeGraceful: after the last exchange, an immediate response, or onDestroy. */
  closeMaybeGraceful(): void {
    this.complete = true;
    if (!this.options.gracefulClose) {
      this.closeNow();
      return;
    }
    if (!this.call || this.closed) return;
    this.closed = true;
    if (this.record) this.record.close = 'graceful';
    this.options.count('streams_closed');
    this.call.end();
    this.graceTimer = setTimeout(() => {
      if (this.record) this.record.close = 'graceful-timeout';
      this.call?.cancel();
    }, this.options.remoteCloseTimeoutMs);
  }

  /** Filter onDestroy: the HTTP stream (or upstream attempt) is over. */
  destroy(): void {
    this.finish('stopped');
    this.closeMaybeGraceful();
  }

  /** closeStream(): half-close, then reset at once. */
  private closeNow(): void {
    if (!this.call || this.closed) return;
    this.closed = true;
    if (this.record) this.record.close = 'reset';
    this.options.count('streams_closed');
    this.call.end();
    this.call.cancel();
  }

  private open(): grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse> {
    if (this.call) return this.call;
    const method = extProcServiceDefinition.service()['Process'];
    if (!method) throw new Error('ExternalProcessor.Process missing from the service definition');
    const call = this.options.client.makeBidiStreamRequest<ProcessingRequest, ProcessingResponse>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
      {},
    );
    this.call = call;
    this.record = {
      id: nextStreamId++,
      level: this.options.level,
      attempt: this.options.attempt,
      sent: [],
      received: [],
      close: undefined,
      grpcStatus: undefined,
    };
    this.options.count('streams_started');
    this.options.onOpen(this.record);
    call.on('data', (response: ProcessingResponse) => this.onMessage(response));
    call.on('status', (status: grpc.StatusObject) => this.onStatus(status));
    call.on('error', () => undefined);
    return call;
  }

  private onMessage(response: ProcessingResponse): void {
    this.record?.received.push(response);
    if (this.complete) return;
    if (response.override_message_timeout) {
      const restarted = this.timers.override(durationToMs(response.override_message_timeout));
      this.options.count(restarted ? 'override_message_timeout_received' : 'override_message_timeout_ignored');
      return;
    }
    const inHeaderState = this.states.request.pending[0]?.kind === 'headers' || this.states.response.pending[0]?.kind === 'headers';
    if (this.options.allowModeOverride && inHeaderState && response.mode_override) {
      this.mode = applyModeOverride(this.options.processingMode, response.mode_override);
    }
    const kind = response.response;
    if (kind === 'immediate_response' && response.immediate_response) {
      this.options.metadata.apply(response.dynamic_metadata);
      this.options.count('stream_msgs_received');
      this.options.count('immediate_responses_sent');
      this.finish('stopped');
      this.closeMaybeGraceful();
      this.options.onLocalReply(immediateToLocalReply(response.immediate_response));
      return;
    }
    const target = kind ? ANSWER_KIND[kind] : undefined;
    if (!target) {
      this.onSpurious('unhandled message');
      return;
    }
    const [direction, phase] = target;
    this.options.metadata.apply(response.dynamic_metadata);
    const state = this.states[direction];
    const head = state.pending[0];
    if (!head || head.kind !== phase) {
      this.onSpurious('spurious message');
      return;
    }
    state.pending.shift();
    this.timers.stop(direction);
    this.options.count('stream_msgs_received');
    head.resolve({ type: 'answer', response });
  }

  private onSpurious(message: string): void {
    this.options.count('spurious_msgs_received');
    if (this.options.failureModeAllow) {
      this.options.count('failure_mode_allowed');
      this.closeNow();
      this.finish('passthrough');
      return;
    }
    this.fail(message);
  }

  private onStatus(status: grpc.StatusObject): void {
    if (this.record) this.record.grpcStatus = { code: status.code, details: status.details };
    if (this.graceTimer) clearTimeout(this.graceTimer);
    if (!this.closed && this.record) this.record.close = 'server';
    this.closed = true;
    if (this.complete) return;
    if (status.code === grpc.status.OK) {
      this.options.count('streams_closed');
      this.finish('passthrough');
      return;
    }
    this.options.count('streams_failed');
    if (this.options.failureModeAllow) {
      this.options.count('failure_mode_allowed');
      this.finish('passthrough');
      return;
    }
    this.finish('stopped');
    this.options.onLocalReply({
      status: 500,
      body: Buffer.alloc(0),
      details: replaceWhitespace(`ext_proc_error_gRPC_error_${status.code}{${status.details}}`),
    });
  }

  private onMessageTimeout(): void {
    this.options.count('message_timeouts');
    this.closeNow();
    if (this.options.failureModeAllow) {
      this.options.count('failure_mode_allowed');
      this.finish('passthrough');
      return;
    }
    this.finish('stopped');
    this.options.onLocalReply({ status: 504, body: Buffer.alloc(0), details: 'ext_proc_error_per-message_timeout_exceeded' });
  }

  /** Latches completion, stops the timers and settles every pending message the same way. */
  private finish(outcome: 'passthrough' | 'stopped'): void {
    this.complete = true;
    this.timers.stopAll();
    for (const direction of ['request', 'response'] as const) {
      const pending = this.states[direction].pending.splice(0);
      for (const entry of pending) entry.resolve({ type: outcome });
    }
  }
}
