/**
 * A grpc.health.v1.Health client built the standard way: @grpc/proto-loader over the public health.proto
 * (test/fixtures/proto), not the service's hand-written codec, so tests using it prove wire compatibility.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

export const HEALTH_PROTO = fileURLToPath(new URL('../fixtures/proto/grpc/health/v1/health.proto', import.meta.url));

/** proto-loader options for the health proto (enum names as strings, defaults filled in). */
export const HEALTH_PROTO_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export interface HealthCheckAnswer {
  status: string;
}

type Unary<Request, Response> = (
  request: Request,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Response) => void,
) => grpc.ClientUnaryCall;

export interface HealthClient extends grpc.Client {
  check: Unary<{ service: string }, HealthCheckAnswer>;
  list: Unary<Record<string, never>, { statuses: Record<string, HealthCheckAnswer> }>;
  watch(request: { service: string }): grpc.ClientReadableStream<HealthCheckAnswer>;
}

export function healthClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ClientOptions): HealthClient {
  const definition = grpc.loadPackageDefinition(loadSync(HEALTH_PROTO, HEALTH_PROTO_OPTIONS)) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => HealthClient } } };
  };
  return new definition.grpc.health.v1.Health(address, credentials, options);
}

/** Check with a deadline: the status name, or the gRPC error. */
export function check(client: HealthClient, service: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response?.status ?? '')));
  });
}

/** A Watch call whose messages are awaited one at a time. */
export class HealthWatch {
  readonly call: grpc.ClientReadableStream<HealthCheckAnswer>;
  private readonly received: string[] = [];
  private readonly waiters: Array<(status: string) => void> = [];
  /** The call's final status (CANCELLED after cancel()). */
  readonly done: Promise<grpc.StatusObject>;

  constructor(client: HealthClient, service: string) {
    this.call = client.watch({ service });
    this.call.on('data', (answer: HealthCheckAnswer) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(answer.status);
      else this.received.push(answer.status);
    });
    this.call.on('error', () => {});
    this.done = new Promise((resolve) => this.call.on('status', resolve));
  }

  /** The next status sent; rejects if the call ends first. */
  next(): Promise<string> {
    const ready = this.received.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      void this.done.then((status) => reject(new Error(`watch ended (${status.code} ${status.details}) before the next status`)));
    });
  }

  cancel(): void {
    this.call.cancel();
  }
}
