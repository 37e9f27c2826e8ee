/**
 * A minimal ext_proc client for protocol-level tests: plays Envoy's message sequence by hand against the real
 * server and hands back each answer in order.
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../../src/server/proto.js';
import type { HeaderMap, ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import { fromStruct } from '../../src/server/struct.js';

export function headerMap(headers: Record<string, string>): HeaderMap {
  return { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

export class ExtProcTestStream {
  private readonly answers: ProcessingResponse[] = [];
  private readonly waiters: Array<(response: ProcessingResponse) => void> = [];
  readonly done: Promise<grpc.StatusObject>;
  private readonly call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

  /** `metadata`: the gRPC call's initial metadata (Envoy puts its ext_proc span's trace context there). */
  constructor(client: grpc.Client, metadata?: grpc.Metadata) {
    const method = (client as unknown as { Process: (metadata?: grpc.Metadata) => grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse> }).Process;
    this.call = metadata ? method.call(client, metadata) : method.call(client);
    this.call.on('data', (response: ProcessingResponse) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(response);
      else this.answers.push(response);
    });
    this.done = new Promise((resolve) => this.call.on('status', resolve));
    this.call.on('error', () => {});
  }

  /** Sends one message and waits for the next answer. */
  send(message: ProcessingRequest): Promise<ProcessingResponse> {
    this.call.write(message);
    return this.next();
  }

  next(): Promise<ProcessingResponse> {
    const ready = this.answers.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Envoy's close: half-close (then, by default, an immediate reset). */
  close(reset = false): void {
    this.call.end();
    if (reset) this.call.cancel();
  }
}

export function connectExtProc(address: string): grpc.Client {
  const Client = extProcServiceDefinition.client();
  return new Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
}

/** Reads a header's value (raw_value) from a mutation's set list. */
export function setHeader(response: { set_headers?: Array<{ header?: { key?: string; raw_value?: Uint8Array; value?: string } }> } | undefined, name: string): string | undefined {
  const entry = response?.set_headers?.find((option) => option.header?.key === name);
  return entry?.header?.raw_value ? Buffer.from(entry.header.raw_value).toString('latin1') : undefined;
}

/** The io.envoy.ai_gateway namespace of an answer's dynamic metadata, as plain values. */
export function gatewayMetadata(response: ProcessingResponse): Record<string, unknown> {
  return fromStruct(response.dynamic_metadata?.fields?.['io.envoy.ai_gateway']?.structValue);
}
