/**
 * The ExternalProcessor.Process stream loop: one processor per stream, messages handled strictly in order
 * (answers must go back FIFO), the call finished when Envoy half-closes, cancellation treated as a normal end.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';
import type { ProcessorDeps, StreamEnd, StreamProcessor } from './processor.js';
import { RouterProcessor } from './router-processor.js';
import { isUpstreamStream, UpstreamProcessor } from './upstream-processor.js';

export type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

export interface StreamTracker {
  add(call: ProcessCall): void;
  delete(call: ProcessCall): void;
}

/** The W3C trace context of the gRPC call (Envoy's span of the ext_proc call, when Envoy traces). */
function traceContextOf(metadata: grpc.Metadata): Map<string, string> | undefined {
  const traceparent = metadata.get('traceparent')[0];
  if (typeof traceparent !== 'string') return undefined;
  const context = new Map([['traceparent', traceparent]]);
  const tracestate = metadata.get('tracestate')[0];
  if (typeof tracestate === 'string') context.set('tracestate', tracestate);
  return context;
}

export function createProcessHandler(deps: ProcessorDeps, tracker: StreamTracker): (call: ProcessCall) => void {
  return (call) => {
    tracker.add(call);
    deps.metrics.streamOpened();
    const stream = new ProcessStream(deps, tracker, call);
    call.on('data', (message: ProcessingRequest) => stream.receive(message));
    call.on('end', () => stream.halfClose());
    call.on('cancelled', () => stream.close('cancelled'));
    call.on('error', () => stream.close('error'));
  };
}

/**
 * One Process call: messages are handled in order, synchronous answers written at once, a pending answer holding
 * the ones behind it.
 */
class ProcessStream {
  private processor: StreamProcessor | undefined;
  /** Messages waiting for an earlier one's answer (answers must go back in order). */
  private readonly waiting: ProcessingRequest[] = [];
  private busy = false;
  private halfClosed = false;
  private closed = false;
  /** The call was ended (OK) or destroyed: nothing more is written to it. */
  private ended = false;

  constructor(
    private readonly deps: ProcessorDeps,
    private readonly tracker: StreamTracker,
    private readonly call: ProcessCall,
  ) {}

  receive(message: ProcessingRequest): void {
    if (this.closed) return;
    // With nothing ahead of it, the message is handled without queueing it: a stream whose messages never wait
    // never grows the queue's storage.
    if (this.busy || this.waiting.length > 0) this.waiting.push(message);
    else if (this.handleOne(message)) this.finishIfDone();
  }

  /** Envoy half-closed: finish once every message is answered. */
  halfClose(): void {
    this.halfClosed = true;
    this.finishIfDone();
  }

  close(reason: StreamEnd): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting.length = 0;
    this.tracker.delete(this.call);
    this.deps.metrics.streamClosed();
    try {
      this.processor?.close(reason);
    } catch (error) {
      this.deps.logger.error({ err: String(error) }, 'closing a processor failed');
    }
  }

  private fail(error: unknown): void {
    // Processors turn every failure into an answer; reaching here is a bug. Fail the stream, not the process.
    this.deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'ext_proc stream failed');
    if (!this.closed && !this.call.cancelled) this.call.destroy(error instanceof Error ? error : new Error(String(error)));
    this.ended = true;
    this.close('error');
  }

  private send(response: ProcessingResponse | undefined): void {
    if (response && !this.closed && !this.call.cancelled) this.call.write(response);
  }

  /**
   * Envoy half-closed and every message is answered (or dropped, the stream having closed otherwise): finish
   * with OK unless the call was cancelled, so that no stream is left open on the connection.
   */
  private finishIfDone(): void {
    if (!this.halfClosed || this.busy || this.waiting.length > 0 || this.ended) return;
    this.ended = true;
    this.close('end');
    if (!this.call.cancelled) this.call.end();
  }

  /** Handles queued messages in order: synchronous answers go out at once, a pending one holds the rest. */
  private drain(): void {
    while (!this.busy && !this.closed) {
      const message = this.waiting.shift();
      if (message === undefined) break;
      if (!this.handleOne(message)) return;
    }
    this.finishIfDone();
  }

  /** Handles one message; true when its answer went out at once, false when it is pending or the stream failed. */
  private handleOne(message: ProcessingRequest): boolean {
    let result: ReturnType<StreamProcessor['handle']>;
    try {
      this.processor ??= this.createProcessor(message);
      result = this.processor.handle(message);
    } catch (error) {
      this.fail(error);
      return false;
    }
    if (result instanceof Promise) {
      this.busy = true;
      result.then(
        (response) => {
          this.busy = false;
          this.send(response);
          this.drain();
        },
        (error: unknown) => {
          this.busy = false;
          this.fail(error);
        },
      );
      return false;
    }
    this.send(result);
    return true;
  }

  private createProcessor(first: ProcessingRequest): StreamProcessor {
    const deps = this.deps;
    const processor = isUpstreamStream(first) ? new UpstreamProcessor(deps) : new RouterProcessor(deps, deps.tracing ? traceContextOf(this.call.metadata) : undefined);
    deps.metrics.trackLive('processor', processor);
    return processor;
  }
}
