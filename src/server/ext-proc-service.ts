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
    let processor: StreamProcessor | undefined;
    /** Messages waiting for an earlier one's answer (answers must go back in order). */
    const waiting: ProcessingRequest[] = [];
    let busy = false;
    let halfClosed = false;
    let closed = false;
    /** The call was ended (OK) or destroyed: nothing more is written to it. */
    let ended = false;

    const close = (reason: StreamEnd) => {
      if (closed) return;
      closed = true;
      waiting.length = 0;
      tracker.delete(call);
      deps.metrics.streamClosed();
      try {
        processor?.close(reason);
      } catch (error) {
        deps.logger.error({ err: String(error) }, 'closing a processor failed');
      }
    };

    const fail = (error: unknown) => {
      // Processors turn every failure into an answer; reaching here is a bug. Fail the stream, not the process.
      deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'ext_proc stream failed');
      if (!closed && !call.cancelled) call.destroy(error instanceof Error ? error : new Error(String(error)));
      ended = true;
      close('error');
    };

    const send = (response: ProcessingResponse | undefined) => {
      if (response && !closed && !call.cancelled) call.write(response);
    };

    /**
     * Envoy half-closed and every message is answered (or dropped, the stream having closed otherwise): finish
     * with OK unless the call was cancelled, so that no stream is left open on the connection.
     */
    const finishIfDone = () => {
      if (!halfClosed || busy || waiting.length > 0 || ended) return;
      ended = true;
      close('end');
      if (!call.cancelled) call.end();
    };

    /** Handles queued messages in order: synchronous answers go out at once, a pending one holds the rest. */
    const drain = () => {
      while (!busy && !closed) {
        const message = waiting.shift();
        if (message === undefined) break;
        let result: ReturnType<StreamProcessor['handle']>;
        try {
          if (!processor) {
            processor = isUpstreamStream(message) ? new UpstreamProcessor(deps) : new RouterProcessor(deps, deps.tracing ? traceContextOf(call.metadata) : undefined);
            deps.metrics.trackLive('processor', processor);
          }
          result = processor.handle(message);
        } catch (error) {
          fail(error);
          return;
        }
        if (result instanceof Promise) {
          busy = true;
          result.then(
            (response) => {
              busy = false;
              send(response);
              drain();
            },
            (error: unknown) => {
              busy = false;
              fail(error);
            },
          );
          return;
        }
        send(result);
      }
      finishIfDone();
    };

    call.on('data', (message: ProcessingRequest) => {
      if (closed) return;
      waiting.push(message);
      if (!busy) drain();
    });
    call.on('end', () => {
      halfClosed = true;
      finishIfDone();
    });
    call.on('cancelled', () => close('cancelled'));
    call.on('error', () => close('error'));
  };
}
