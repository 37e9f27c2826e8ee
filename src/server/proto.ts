/**
 * Loads the project's own copy of Envoy's ext_proc API (proto/) for gRPC use (via
 * @grpc/proto-loader) and for direct encode/decode (via protobufjs). Both views use the
 * same object form: snake_case fields, enums as strings, bytes as Buffer, oneof
 * discriminants present, unset fields absent. See ext-proc-types.ts for that form.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';
import { EXT_PROC_SERVICE_NAME } from './ext-proc-codec.js';

/** Absolute path of the proto/ directory, independent of the working directory. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** The entry file, relative to PROTO_DIR. */
export const EXT_PROC_PROTO_FILE = 'envoy/service/ext_proc/v3/external_processor.proto';

export { EXT_PROC_PROCESS_PATH, EXT_PROC_SERVICE_NAME } from './ext-proc-codec.js';

/** Options shared by proto-loader (gRPC) and the protobufjs conversions below. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** protobufjs toObject options matching PROTO_LOADER_OPTIONS (keepCase is a parse option). */
const CONVERSION_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
};

let packageDefinition: protoLoader.PackageDefinition | undefined;
let grpcPackage: grpc.GrpcObject | undefined;

/** The proto-loader package definition (cached). */
export function loadExtProcPackageDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync(EXT_PROC_PROTO_FILE, PROTO_LOADER_OPTIONS);
  return packageDefinition;
}

/** The gRPC package object for the ext_proc protos (cached). */
export function loadExtProcDefinition(): grpc.GrpcObject {
  grpcPackage ??= grpc.loadPackageDefinition(loadExtProcPackageDefinition());
  return grpcPackage;
}

/** Helpers to build a server or a client for envoy.service.ext_proc.v3.ExternalProcessor. */
export const extProcServiceDefinition = {
  /** The service definition to pass to `server.addService(...)`. */
  service(): grpc.ServiceDefinition {
    return clientConstructor().service;
  },
  /** The generated client class: `new (extProcServiceDefinition.client())(address, credentials)`. */
  client(): grpc.ServiceClientConstructor {
    return clientConstructor();
  },
};

let clientClass: grpc.ServiceClientConstructor | undefined;

function clientConstructor(): grpc.ServiceClientConstructor {
  if (clientClass === undefined) {
    const definition = loadExtProcPackageDefinition()[EXT_PROC_SERVICE_NAME];
    if (definition === undefined) throw new Error(`${EXT_PROC_SERVICE_NAME} missing from ${PROTO_DIR}`);
    clientClass = grpc.makeGenericClientConstructor(
      definition as grpc.ServiceDefinition,
      'ExternalProcessor',
    );
  }
  return clientClass;
}

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string =>
    target.startsWith('/') ? target : `${PROTO_DIR}${target}`;
  root.loadSync(EXT_PROC_PROTO_FILE, { keepCase: true });
  root.resolveAll();
  return root;
}

let root: protobuf.Root | undefined;

/** The protobufjs root holding every message of proto/ (parsed on first use: tests and tools; serving uses ext-proc-codec.ts). */
export function extProcProtoRoot(): protobuf.Root {
  root ??= loadRoot();
  return root;
}

export function processingRequestType(): protobuf.Type {
  return extProcProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
}

export function processingResponseType(): protobuf.Type {
  return extProcProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
}

/** Encode an object-form message the way grpc-js does for this service. */
export function encodeMessage(type: protobuf.Type, value: object): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Decode bytes to the object form grpc-js hands to handlers. */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), CONVERSION_OPTIONS);
}

export function encodeProcessingRequest(request: ProcessingRequest): Buffer {
  return encodeMessage(processingRequestType(), request);
}

export function decodeProcessingRequest(bytes: Uint8Array): ProcessingRequest {
  return decodeMessage(processingRequestType(), bytes) as ProcessingRequest;
}

export function encodeProcessingResponse(response: ProcessingResponse): Buffer {
  return encodeMessage(processingResponseType(), response);
}

export function decodeProcessingResponse(bytes: Uint8Array): ProcessingResponse {
  return decodeMessage(processingResponseType(), bytes) as ProcessingResponse;
}
