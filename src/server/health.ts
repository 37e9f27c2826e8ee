/**
 * grpc.health.v1.Health (https://github.com/grpc/grpc/blob/master/doc/health-checking.md): Check, Watch and List,
 * served on the ext_proc grpc-js Server with a hand-written ServiceDefinition and codec.
 *
 * Hand-written instead of the `grpc-health-check` package: that package parses its .proto with proto-loader at
 * import (~75 ms and ~5.5 MiB of the 1 s start budget), and the protocol is two one-field messages.
 *
 * Behaviour is the package's (2.1.0): Check answers a known service's status and fails with NOT_FOUND for an unknown
 * one; Watch sends the current status (SERVICE_UNKNOWN for an unknown service) at once, then one message per
 * setStatus of that service, and never ends by itself; List answers every service's status, or RESOURCE_EXHAUSTED
 * above 100 services. Importing this module does nothing; `new HealthService(...)` and `addToServer` do the work.
 *
 * Wire format (proto3): HealthCheckRequest { string service = 1; }, HealthCheckResponse { ServingStatus status = 1; },
 * HealthListRequest {}, HealthListResponse { map<string, HealthCheckResponse> statuses = 1; }. Encoding writes what
 * protobufjs writes (the status field even when 0); decoding skips unknown fields, and a field with an unexpected
 * wire type is treated as unknown; a truncated message is refused (grpc-js answers INTERNAL) where protobufjs cut a
 * truncated string short. test/server/health.test.ts pins both to proto-loader over the public health.proto.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  Server,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { WIRE_END_GROUP, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH, WIRE_START_GROUP, WIRE_VARINT } from './protobuf-wire.js';

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** What a service can be set to. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING';
/** What Watch can send: SERVICE_UNKNOWN is for a service with no status (yet). */
export type WatchedStatus = ServingStatus | 'SERVICE_UNKNOWN';

export interface HealthCheckRequest {
  service: string;
}

export interface HealthCheckResponse {
  /** An enum name; a number the enum does not name stays a number (as proto-loader's `enums: String` does). */
  status: WatchedStatus | number;
}

export interface HealthListResponse {
  statuses: Record<string, HealthCheckResponse>;
}

/** List answers RESOURCE_EXHAUSTED above this many services (the package's limit). */
export const LIST_LIMIT = 100;

const STATUS_NUMBER: Readonly<Record<WatchedStatus, number>> = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };
const STATUS_NAME: readonly WatchedStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

// ---- codec -------------------------------------------------------------------------------------------------


/** A cursor over one message's bytes. */
class Reader {
  position = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  get done(): boolean {
    return this.position >= this.end;
  }

  /** A varint as a number (exact up to 2^53; tags and lengths are far smaller). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let count = 0; count < 10; count += 1) {
      if (this.position >= this.end) throw new Error('health: truncated varint');
      const byte = this.bytes[this.position++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new Error('health: varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's content; the cursor moves past it. */
  delimited(): [start: number, end: number] {
    const length = this.varint();
    const start = this.position;
    if (length > this.end - start) throw new Error('health: length past the end of the message');
    this.position = start + length;
    return [start, this.position];
  }

  skip(wireType: number, fieldNumber: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const tag = this.tag();
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== fieldNumber) throw new Error('health: mismatched end of group');
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      default:
        throw new Error(`health: invalid wire type ${wireType}`);
    }
  }

  tag(): number {
    const tag = this.varint();
    if (tag >>> 3 === 0 || tag > 0xffffffff) throw new Error('health: invalid tag');
    return tag;
  }

  private advance(count: number): void {
    if (count > this.end - this.position) throw new Error('health: truncated field');
    this.position += count;
  }
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

function varintBytes(value: number, into: number[]): void {
  let rest = value;
  while (rest >= 0x80) {
    into.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  into.push(rest);
}

function statusNumber(status: WatchedStatus | number): number {
  const number = typeof status === 'number' ? status : STATUS_NUMBER[status];
  if (number === undefined || !Number.isInteger(number) || number < 0 || number > 0x7fffffff) throw new Error(`health: invalid serving status ${String(status)}`);
  return number;
}

/** The HealthCheckResponse bytes for a status: field 1, varint. */
function statusBytes(status: WatchedStatus | number, into: number[]): void {
  into.push((1 << 3) | WIRE_VARINT);
  varintBytes(statusNumber(status), into);
}

export function decodeHealthCheckRequest(bytes: Uint8Array): HealthCheckRequest {
  const reader = new Reader(bytes);
  let service = '';
  while (!reader.done) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | WIRE_LENGTH)) {
      const [start, end] = reader.delimited();
      service = utf8(bytes, start, end);
    } else {
      reader.skip(tag & 7, tag >>> 3);
    }
  }
  return { service };
}

/** Field 1 is written even when empty, as protobufjs does for a field present in the object. */
export function encodeHealthCheckRequest(request: HealthCheckRequest): Buffer {
  const service = Buffer.from(request.service ?? '', 'utf8');
  const head: number[] = [(1 << 3) | WIRE_LENGTH];
  varintBytes(service.length, head);
  return Buffer.concat([Buffer.from(head), service]);
}

function decodeStatusFrom(reader: Reader): HealthCheckResponse {
  let number = 0;
  while (!reader.done) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | WIRE_VARINT)) number = reader.varint() % 2 ** 32 | 0;
    else reader.skip(tag & 7, tag >>> 3);
  }
  return { status: STATUS_NAME[number] ?? number };
}

export function decodeHealthCheckResponse(bytes: Uint8Array): HealthCheckResponse {
  return decodeStatusFrom(new Reader(bytes));
}

export function encodeHealthCheckResponse(response: HealthCheckResponse): Buffer {
  const bytes: number[] = [];
  statusBytes(response.status, bytes);
  return Buffer.from(bytes);
}

/** HealthListRequest has no fields: anything well-formed is accepted. */
export function decodeHealthListRequest(bytes: Uint8Array): Record<string, never> {
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.tag();
    reader.skip(tag & 7, tag >>> 3);
  }
  return {};
}

export function encodeHealthListRequest(): Buffer {
  return Buffer.alloc(0);
}

/** Each map entry as protobufjs writes it: field 1 = entry { key = 1 (always written), value = 2 }. */
export function encodeHealthListResponse(response: HealthListResponse): Buffer {
  const parts: Buffer[] = [];
  for (const [service, value] of Object.entries(response.statuses)) {
    const key = Buffer.from(service, 'utf8');
    const statusField: number[] = [];
    statusBytes(value.status, statusField);
    const entryTail: number[] = [(2 << 3) | WIRE_LENGTH];
    varintBytes(statusField.length, entryTail);
    entryTail.push(...statusField);
    const keyHead: number[] = [(1 << 3) | WIRE_LENGTH];
    varintBytes(key.length, keyHead);
    const entryHead: number[] = [(1 << 3) | WIRE_LENGTH];
    varintBytes(keyHead.length + key.length + entryTail.length, entryHead);
    parts.push(Buffer.from(entryHead), Buffer.from(keyHead), key, Buffer.from(entryTail));
  }
  return Buffer.concat(parts);
}

export function decodeHealthListResponse(bytes: Uint8Array): HealthListResponse {
  const reader = new Reader(bytes);
  // No prototype: a service named __proto__ stays an entry.
  const statuses = Object.create(null) as Record<string, HealthCheckResponse>;
  while (!reader.done) {
    const tag = reader.tag();
    if (tag !== ((1 << 3) | WIRE_LENGTH)) {
      reader.skip(tag & 7, tag >>> 3);
      continue;
    }
    const [start, end] = reader.delimited();
    const entry = new Reader(bytes, end);
    entry.position = start;
    let key = '';
    let value: HealthCheckResponse = { status: 'UNKNOWN' };
    while (!entry.done) {
      const entryTag = entry.tag();
      if (entryTag === ((1 << 3) | WIRE_LENGTH)) {
        const [keyStart, keyEnd] = entry.delimited();
        key = utf8(bytes, keyStart, keyEnd);
      } else if (entryTag === ((2 << 3) | WIRE_LENGTH)) {
        const [valueStart, valueEnd] = entry.delimited();
        const valueReader = new Reader(bytes, valueEnd);
        valueReader.position = valueStart;
        value = decodeStatusFrom(valueReader);
      } else {
        entry.skip(entryTag & 7, entryTag >>> 3);
      }
    }
    statuses[key] = value;
  }
  return { statuses };
}

/** The Health service for `server.addService(...)`: the paths and stream shapes of proto-loader's definition. */
export function healthServiceDefinition(): ServiceDefinition {
  return {
    Check: {
      path: `/${HEALTH_SERVICE_NAME}/Check`,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeHealthCheckRequest,
      requestDeserialize: decodeHealthCheckRequest,
      responseSerialize: encodeHealthCheckResponse,
      responseDeserialize: decodeHealthCheckResponse,
      originalName: 'check',
    },
    Watch: {
      path: `/${HEALTH_SERVICE_NAME}/Watch`,
      requestStream: false,
      responseStream: true,
      requestSerialize: encodeHealthCheckRequest,
      requestDeserialize: decodeHealthCheckRequest,
      responseSerialize: encodeHealthCheckResponse,
      responseDeserialize: decodeHealthCheckResponse,
      originalName: 'watch',
    },
    List: {
      path: `/${HEALTH_SERVICE_NAME}/List`,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeHealthListRequest,
      requestDeserialize: decodeHealthListRequest,
      responseSerialize: encodeHealthListResponse,
      responseDeserialize: decodeHealthListResponse,
      originalName: 'list',
    },
  } as ServiceDefinition;
}

// ---- service -----------------------------------------------------------------------------------------------

type Watcher = (status: ServingStatus) => void;

/** The serving status of each service name ('' is the whole server), and the Watch calls following them. */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<Watcher>>();

  constructor(initial: Readonly<Record<string, ServingStatus>> = {}) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  /** Sets a service's status and sends it to every Watch on that service (on every call, changed or not). */
  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const watcher of this.watchers.get(service) ?? []) watcher(status);
  }

  /** The status set for a service; undefined when none was. */
  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  addToServer(server: Pick<Server, 'addService'>): void {
    const implementation: UntypedServiceImplementation = {
      Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
        const service = call.request.service;
        const status = this.statuses.get(service);
        if (status === undefined) callback({ code: grpcStatus.NOT_FOUND, details: `Health status unknown for service ${service}` });
        else callback(null, { status });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const service = call.request.service;
        const watcher: Watcher = (status) => {
          call.write({ status });
        };
        this.addWatcher(service, watcher);
        call.once('cancelled', () => this.removeWatcher(service, watcher));
        call.write({ status: this.statuses.get(service) ?? 'SERVICE_UNKNOWN' });
      },
      List: (_call: ServerUnaryCall<Record<string, never>, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        if (this.statuses.size > LIST_LIMIT) {
          callback({ code: grpcStatus.RESOURCE_EXHAUSTED, details: 'Too many services to list.' }, null);
          return;
        }
        const statuses = Object.create(null) as Record<string, HealthCheckResponse>;
        for (const [service, status] of this.statuses) statuses[service] = { status };
        callback(null, { statuses });
      },
    };
    server.addService(healthServiceDefinition(), implementation);
  }

  private addWatcher(service: string, watcher: Watcher): void {
    const set = this.watchers.get(service);
    if (set) set.add(watcher);
    else this.watchers.set(service, new Set([watcher]));
  }

  private removeWatcher(service: string, watcher: Watcher): void {
    const set = this.watchers.get(service);
    if (!set) return;
    set.delete(watcher);
    if (set.size === 0) this.watchers.delete(service);
  }
}
