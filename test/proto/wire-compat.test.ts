/**
 * Wire compatibility of proto/ with the Envoy API protos shipped in @grpc/grpc-js-xds
 * ("upstream"). Bytes from one side must decode identically on the other, and fields
 * newer than upstream must travel as unknown fields that a preserving proto3
 * implementation (Envoy's C++ protobuf) carries through unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import {
  EXT_PROC_PROCESS_PATH,
  EXT_PROC_PROTO_FILE,
  extProcServiceDefinition,
  loadExtProcPackageDefinition,
  extProcProtoRoot,
} from '../../src/server/proto.js';

const require = createRequire(import.meta.url);
const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const upstreamDirs = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) => join(xdsDeps, d));
const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));

function loadUpstreamRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (target.startsWith('/')) return target;
    for (const dir of [...upstreamDirs, protobufjsDir]) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(EXT_PROC_PROTO_FILE, { keepCase: true });
  root.resolveAll();
  return root;
}

const theirs = loadUpstreamRoot();
const ours = extProcProtoRoot();
const P = 'envoy.service.ext_proc.v3.';
const CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, defaults: false, oneofs: true };

/** Fields that exist in Envoy's current API but not in the upstream copy. */
const NEWER_FIELDS = new Set([
  `${P}ProcessingRequest.protocol_config`,
  `${P}ProcessingResponse.streamed_immediate_response`,
  `${P}ProcessingResponse.request_drain`,
  `${P}BodyMutation.streamed_response`,
]);
const NEWER_TYPES = new Set([`${P}ProtocolConfiguration`, `${P}StreamedBodyResponse`, `${P}StreamedImmediateResponse`]);

function allTypes(root: protobuf.NamespaceBase): Array<protobuf.Type | protobuf.Enum> {
  const found: Array<protobuf.Type | protobuf.Enum> = [];
  for (const nested of root.nestedArray) {
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) found.push(nested);
    if (nested instanceof protobuf.Namespace) found.push(...allTypes(nested));
  }
  return found;
}

const ourProjectTypes = allTypes(ours).filter((t) => t.fullName.startsWith('.envoy.'));

function codec(root: protobuf.Root, name: string) {
  const type = root.lookupType(P + name);
  return {
    type,
    encode: (value: object): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish()),
    decode: (bytes: Uint8Array): Record<string, unknown> => type.toObject(type.decode(bytes), CONVERSION),
  };
}

/** Split an encoded message into its top-level fields, each with its raw bytes. */
function splitFields(bytes: Uint8Array): Array<{ id: number; raw: Uint8Array }> {
  const reader = protobuf.Reader.create(bytes);
  const fields: Array<{ id: number; raw: Uint8Array }> = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    fields.push({ id: tag >>> 3, raw: bytes.subarray(start, reader.pos) });
  }
  return fields;
}

/**
 * What a proto3 implementation that keeps unknown fields does with `bytes` typed as
 * `type`: decode the known fields, re-encode them, append the unknown fields verbatim.
 */
function preservingRoundTrip(type: protobuf.Type, bytes: Uint8Array): { out: Buffer; unknownIds: number[] } {
  const unknown = splitFields(bytes).filter((f) => type.fieldsById[f.id] === undefined);
  const known = type.encode(type.decode(bytes)).finish();
  return { out: Buffer.concat([known, ...unknown.map((f) => f.raw)]), unknownIds: unknown.map((f) => f.id) };
}

const header = (key: string, raw: string) => ({ key, raw_value: Buffer.from(raw) });
const struct = {
  fields: {
    n: { numberValue: 42 },
    s: { stringValue: 'x' },
    b: { boolValue: true },
    z: { nullValue: 'NULL_VALUE' },
    l: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'two' }] } },
    o: { structValue: { fields: { inner: { stringValue: 'y' } } } },
  },
};
const headerMap = { headers: [header(':path', '/v1/chat/completions'), { key: 'x-legacy', value: 'v' }, header('x-bin', '\u00ff')] };
const mutation = {
  set_headers: [
    { header: header('x-ai-eg-model', 'gpt-4o'), append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', keep_empty_value: true },
    { header: header('x-old', 'a'), append: { value: false } },
  ],
  remove_headers: ['content-length', 'authorization'],
};
const common = {
  status: 'CONTINUE_AND_REPLACE',
  header_mutation: mutation,
  body_mutation: { body: Buffer.from('{"model":"m"}') },
  trailers: headerMap,
  clear_route_cache: true,
};
const metadataContext = {
  filter_metadata: { 'io.envoy.ai_gateway': struct },
  typed_filter_metadata: { t: { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([8, 1]) } },
};

const requestsKnownUpstream: Array<Record<string, unknown>> = [
  {
    request_headers: { headers: headerMap, attributes: { a: struct }, end_of_stream: false },
    metadata_context: metadataContext,
    attributes: { 'xds.upstream_host_metadata': struct },
    observability_mode: true,
  },
  { response_headers: { headers: headerMap, end_of_stream: true } },
  { request_body: { body: Buffer.from('{"model":"gpt-4o"}'), end_of_stream: true } },
  { response_body: { body: Buffer.from([0, 1, 2, 255]), end_of_stream: false } },
  { request_trailers: { trailers: headerMap } },
  { response_trailers: { trailers: headerMap } },
];

const responsesKnownUpstream: Array<Record<string, unknown>> = [
  {
    request_headers: { response: common },
    dynamic_metadata: { fields: { 'io.envoy.ai_gateway': { structValue: struct } } },
    mode_override: {
      request_header_mode: 'SEND',
      response_header_mode: 'SKIP',
      request_body_mode: 'BUFFERED',
      response_body_mode: 'STREAMED',
      request_trailer_mode: 'SKIP',
      response_trailer_mode: 'DEFAULT',
    },
    override_message_timeout: { seconds: '12', nanos: 500 },
  },
  { response_headers: { response: { status: 'CONTINUE', clear_route_cache: false } } },
  { request_body: { response: { body_mutation: { clear_body: true } } } },
  { response_body: { response: { body_mutation: { body: Buffer.from('data: {}\n\n') } } } },
  { request_trailers: { header_mutation: mutation } },
  { response_trailers: { header_mutation: { remove_headers: ['grpc-status'] } } },
  {
    immediate_response: {
      status: { code: 'NotFound' },
      headers: mutation,
      body: Buffer.from('{"error":{"message":"no"}}'),
      grpc_status: { status: 5 },
      details: 'unknown_model',
    },
  },
  { immediate_response: { status: { code: 418 } } },
];

describe('proto/ declarations match upstream', () => {
  it('every field upstream declares for our types has the same number, type and label', () => {
    let compared = 0;
    for (const our of ourProjectTypes) {
      const their = theirs.lookup(our.fullName);
      if (NEWER_TYPES.has(our.fullName.slice(1))) {
        assert.equal(their, null, `${our.fullName} unexpectedly exists upstream`);
        continue;
      }
      assert.ok(their, `${our.fullName} missing upstream`);
      if (our instanceof protobuf.Enum) {
        assert.ok(their instanceof protobuf.Enum);
        for (const [name, id] of Object.entries(their.values)) assert.equal(our.values[name], id, `${our.fullName}.${name}`);
        continue;
      }
      assert.ok(their instanceof protobuf.Type);
      for (const theirField of their.fieldsArray) {
        const ourField: protobuf.Field | undefined = our.fields[theirField.name];
        assert.ok(ourField, `${our.fullName}.${theirField.name} missing in ours`);
        assert.equal(ourField.id, theirField.id, `${ourField.fullName} number`);
        assert.equal(ourField.resolvedType?.fullName ?? ourField.type, theirField.resolvedType?.fullName ?? theirField.type);
        assert.equal(ourField.repeated, theirField.repeated, `${ourField.fullName} repeated`);
        assert.equal(ourField instanceof protobuf.MapField, theirField instanceof protobuf.MapField);
        assert.equal(ourField.partOf?.name, theirField.partOf?.name, `${ourField.fullName} oneof`);
        compared++;
      }
      for (const ourField of our.fieldsArray) {
        if (their.fields[ourField.name] === undefined) {
          assert.ok(NEWER_FIELDS.has(`${our.fullName.slice(1)}.${ourField.name}`), `${ourField.fullName} not upstream`);
          assert.equal(their.fieldsById[ourField.id], undefined, `${ourField.fullName} number taken upstream`);
        }
      }
    }
    assert.ok(compared >= 50, `compared only ${compared} fields`);
  });

  it('the service path is /envoy.service.ext_proc.v3.ExternalProcessor/Process on both sides', () => {
    assert.equal(EXT_PROC_PROCESS_PATH, '/envoy.service.ext_proc.v3.ExternalProcessor/Process');
    assert.equal(extProcServiceDefinition.service()['Process']?.path, EXT_PROC_PROCESS_PATH);
    assert.equal(extProcServiceDefinition.client().service['Process']?.path, EXT_PROC_PROCESS_PATH);
    const upstream = protoLoader.loadSync(EXT_PROC_PROTO_FILE, { keepCase: true, includeDirs: upstreamDirs });
    const service = upstream['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition;
    assert.equal(service['Process']?.path, EXT_PROC_PROCESS_PATH);
    const method = extProcServiceDefinition.service()['Process'];
    assert.equal(method?.requestStream, true);
    assert.equal(method?.responseStream, true);
  });
});

describe('messages upstream knows', () => {
  for (const [name, samples] of [
    ['ProcessingRequest', requestsKnownUpstream],
    ['ProcessingResponse', responsesKnownUpstream],
  ] as const) {
    samples.forEach((sample, index) => {
      it(`${name} #${index}: ours -> theirs and theirs -> ours decode identically, same bytes`, () => {
        const our = codec(ours, name);
        const their = codec(theirs, name);
        const ourBytes = our.encode(sample);
        const theirBytes = their.encode(sample);
        assert.ok(ourBytes.length > 0);
        assert.deepEqual(ourBytes, theirBytes);
        assert.deepEqual(their.decode(ourBytes), our.decode(ourBytes));
        assert.deepEqual(our.decode(theirBytes), their.decode(theirBytes));
        assert.equal(preservingRoundTrip(their.type, ourBytes).unknownIds.length, 0);
      });
    });
  }

  it('grpc-js serializers of ours and upstream proto-loader definitions interoperate', () => {
    const upstream = protoLoader.loadSync(EXT_PROC_PROTO_FILE, {
      keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: upstreamDirs,
    });
    const theirMethod = (upstream['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition)['Process'];
    const ourMethod = (loadExtProcPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition)['Process'];
    assert.ok(theirMethod && ourMethod);
    for (const sample of requestsKnownUpstream) {
      const fromEnvoy = theirMethod.requestSerialize(sample);
      assert.deepEqual(ourMethod.requestDeserialize(fromEnvoy), theirMethod.requestDeserialize(fromEnvoy));
    }
    for (const sample of responsesKnownUpstream) {
      const toEnvoy = ourMethod.responseSerialize(sample);
      assert.deepEqual(theirMethod.responseDeserialize(toEnvoy), ourMethod.responseDeserialize(toEnvoy));
    }
  });
});

describe('fields newer than upstream', () => {
  const cases: Array<{ name: string; value: Record<string, unknown>; unknownIds: number[] }> = [
    {
      name: 'ProcessingRequest',
      value: {
        request_headers: { headers: headerMap },
        protocol_config: {
          request_body_mode: 'BUFFERED',
          response_body_mode: 'FULL_DUPLEX_STREAMED',
          send_body_without_waiting_for_header_response: true,
        },
      },
      unknownIds: [11],
    },
    {
      name: 'BodyMutation',
      value: { streamed_response: { body: Buffer.from('data: [DONE]\n\n'), end_of_stream: true } },
      unknownIds: [3],
    },
    {
      name: 'ProcessingResponse',
      value: {
        streamed_immediate_response: { body_response: { body: Buffer.from('chunk'), end_of_stream: false } },
        dynamic_metadata: { fields: { k: { numberValue: 1 } } },
        request_drain: true,
      },
      unknownIds: [11, 12],
    },
    {
      name: 'ProcessingResponse',
      value: { streamed_immediate_response: { headers_response: { headers: headerMap, end_of_stream: false } } },
      unknownIds: [11],
    },
  ];

  for (const { name, value, unknownIds } of cases) {
    it(`${name} with ${unknownIds.join(',')}: carried as unknown by theirs, decoded by ours`, () => {
      const our = codec(ours, name);
      const their = codec(theirs, name);
      const bytes = our.encode(value);
      const decoded = our.decode(bytes);
      for (const key of Object.keys(value)) assert.ok(key in decoded, `${key} decoded by ours`);
      // Upstream decodes without error and sees only the fields it knows.
      const theirView = their.decode(bytes);
      for (const key of Object.keys(theirView)) assert.ok(key in value || key === 'request' || key === 'response');
      const { out, unknownIds: seen } = preservingRoundTrip(their.type, bytes);
      assert.deepEqual(seen, unknownIds);
      assert.deepEqual(our.decode(out), decoded);
      assert.equal(out.length, bytes.length);
    });
  }

  it('BodyMutation.streamed_response nested in a full ProcessingResponse survives an upstream round trip', () => {
    const our = codec(ours, 'ProcessingResponse');
    const value = {
      response_body: {
        response: { body_mutation: { streamed_response: { body: Buffer.from('data: x\n\n'), end_of_stream: true } } },
      },
    };
    const bytes = our.encode(value);
    const decoded = our.decode(bytes) as { response_body?: { response?: { body_mutation?: Record<string, unknown> } } };
    assert.equal(decoded.response_body?.response?.body_mutation?.['mutation'], 'streamed_response');
    assert.deepEqual(decoded.response_body?.response?.body_mutation?.['streamed_response'], {
      body: Buffer.from('data: x\n\n'),
      end_of_stream: true,
    });
    const their = codec(theirs, 'ProcessingResponse');
    assert.deepEqual(their.decode(bytes), { response_body: { response: { body_mutation: {} } }, response: 'response_body' });
  });
});
