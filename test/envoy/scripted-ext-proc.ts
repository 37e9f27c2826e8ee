/**
 * Tiny scripted ext_proc servers for testing the Envoy stand-in itself: each stream runs a script that reads
 * the stand-in's messages with next() and answers whatever it likes (right, wrong or never).
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../../src/server/proto.js';
import type {
  CommonResponse,
  HeaderValueOption,
  ProcessingRequest,
  ProcessingResponse,
} from '../../src/server/ext-proc-types.js';

export interface ScriptedStream {
  readonly id: number;
  readonly received: ProcessingRequest[];
  /** 'end' (client half-close), 'cancelled' (before the server ended the call), 'ended-ok', 'failed', 'closed'. */
  readonly events: string[];
  /** When true (default) the server finishes the call with OK as soon as the client half-closes. */
  autoEndOnHalfClose: boolean;
  /** The next message, or undefined once the client half-closed or cancelled. */
  next(): Promise<ProcessingRequest | undefined>;
  send(response: ProcessingResponse): void;
  /** Finishes the call with status OK. */
  end(): void;
  fail(code: grpc.status, details: string): void;
  /** Resolves when the call is over, whichever side ended it. */
  readonly finished: Promise<void>;
}

export type Script = (stream: ScriptedStream) => void | Promise<void>;

export interface ScriptedExtProc {
  /** gRPC target for startEnvoy({ extProc }). */
  readonly address: string;
  readonly streams: ScriptedStream[];
  close(): Promise<void>;
}

export async function startScriptedExtProc(script: Script): Promise<ScriptedExtProc> {
  const server = new grpc.Server();
  const streams: ScriptedStream[] = [];
  server.addService(extProcServiceDefinition.service(), {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      const stream = createStream(call, streams.length + 1);
      streams.push(stream);
      Promise.resolve()
        .then(() => script(stream))
        .catch((error: unknown) => stream.fail(grpc.status.INTERNAL, String(error)));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    streams,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

function createStream(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>, id: number): ScriptedStream {
  const queue: Array<ProcessingRequest | undefined> = [];
  const waiters: Array<(message: ProcessingRequest | undefined) => void> = [];
  let over = false;
  let resolveFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
  const push = (message: ProcessingRequest | undefined): void => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  };
  const finish = (event: string): void => {
    stream.events.push(event);
    if (over) return;
    over = true;
    resolveFinished();
  };
  const stream: ScriptedStream = {
    id,
    received: [],
    events: [],
    autoEndOnHalfClose: true,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve))),
    send: (response) => {
      if (!over) call.write(response);
    },
    end: () => {
      if (over) return;
      call.end();
      finish('ended-ok');
    },
    fail: (code, details) => {
      if (over) return;
      call.emit('error', { code, details });
      finish('failed');
    },
    finished,
  };
  call.on('data', (message: ProcessingRequest) => {
    stream.received.push(message);
    push(message);
  });
  call.on('end', () => {
    stream.events.push('end');
    push(undefined);
    if (stream.autoEndOnHalfClose) stream.end();
  });
  // grpc-js (1.14) emits 'cancelled' whenever the HTTP/2 stream closes, also after a normal finish:
  // it only means a cancellation while the server has not ended the call itself.
  call.on('cancelled', () => {
    push(undefined);
    if (over) stream.events.push('closed');
    else finish('cancelled');
  });
  call.on('error', () => undefined);
  return stream;
}

// ---- message helpers --------------------------------------------------------------------------------------

export type RequestKind = NonNullable<ProcessingRequest['request']>;

/** The oneof case of a ProcessingRequest. */
export function kindOf(request: ProcessingRequest): RequestKind | undefined {
  return request.request;
}

/** A header's value in a headers message (raw_value bytes, latin1). */
export function headerOf(request: ProcessingRequest, name: string): string | undefined {
  const headers = request.request_headers ?? request.response_headers;
  const entry = headers?.headers?.headers?.find((header) => header.key === name);
  return entry ? Buffer.from(entry.raw_value ?? Buffer.alloc(0)).toString('latin1') : undefined;
}

/** Sets a header the right way: raw_value only, overwrite. */
export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') } };
}

/** An answer of the same oneof case as the request, carrying `common` (empty = plain CONTINUE). */
export function answerFor(request: ProcessingRequest, common: CommonResponse = {}): ProcessingResponse {
  const kind = kindOf(request);
  if (!kind) throw new Error('request without a oneof case');
  if (kind === 'request_trailers' || kind === 'response_trailers') return { [kind]: {} };
  return { [kind]: { response: common } };
}

/** Answers every message with a plain CONTINUE of the matching case. */
export const passThrough: Script = async (stream) => {
  for (let message = await stream.next(); message; message = await stream.next()) stream.send(answerFor(message));
};

/** Whether a first message came from an upstream-level filter (it carries request attributes). */
export function isUpstreamLevel(request: ProcessingRequest): boolean {
  return request.attributes !== undefined;
}
