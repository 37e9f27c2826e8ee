/**
 * The hand-written ext_proc codec (src/server/ext-proc-codec.ts) against protobufjs reflection over proto/ (what
 * proto-loader uses): the same objects from the same bytes, the same bytes from the same objects, unknown fields
 * skipped, on a corpus of realistic messages and on seeded random ones generated from the reflection types.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import {
  decodeProcessingRequest,
  decodeProcessingResponse,
  encodeProcessingRequest,
  encodeProcessingResponse,
  serializeProcessingResponse,
} from '../../src/server/ext-proc-codec.js';
import { processingRequestType, processingResponseType } from '../../src/server/proto.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import { toStruct } from '../../src/server/struct.js';
import { answer, STREAMED_RESPONSE_MODE, type Phase } from '../../src/server/responses.js';
import { HeaderChanges } from '../../src/server/headers.js';
import { createRandom } from '../helpers/chunking.js';

const CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, defaults: false, oneofs: true };

const reflectEncode = (type: protobuf.Type, value: object): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish());
const reflectDecode = (type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> => type.toObject(type.decode(bytes), CONVERSION);

function headers(pairs: Record<string, string>) {
  return { headers: Object.entries(pairs).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
}

const requests: Array<[string, ProcessingRequest]> = [
  ['request_headers', { request_headers: { headers: headers({ ':path': '/v1/chat/completions', ':method': 'POST', 'content-type': 'application/json', authorization: 'Bearer sk-x' }) } }],
  ['request_headers end_of_stream + legacy value', { request_headers: { headers: { headers: [{ key: ':path', value: '/v1/models' }] }, end_of_stream: true } }],
  ['request_body', { request_body: { body: Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'héllo 🎉' }] })), end_of_stream: true } }],
  ['empty request_body', { request_body: { body: Buffer.alloc(0), end_of_stream: false } }],
  ['response_headers', { response_headers: { headers: headers({ ':status': '200', 'content-type': 'text/event-stream' }) } }],
  ['response_body', { response_body: { body: Buffer.from('data: {"choices":[]}\n\n'), end_of_stream: false } }],
  ['request_trailers', { request_trailers: { trailers: headers({ 'grpc-status': '0' }) } }],
  ['response_trailers', { response_trailers: { trailers: { headers: [] } } }],
  [
    'attributes + metadata_context + protocol_config',
    {
      request_headers: { headers: headers({ ':path': '/v1/chat/completions' }) },
      attributes: {
        'envoy.filters.http.ext_proc': {
          fields: {
            "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']": { stringValue: 'openai' },
            'request.id': { stringValue: 'abc' },
            count: { numberValue: 3.5 },
            flag: { boolValue: false },
            none: { nullValue: 'NULL_VALUE' },
            nested: { structValue: { fields: { list: { listValue: { values: [{ numberValue: -1 }, { stringValue: '' }, { structValue: {} }] } } } } },
          },
        },
      },
      metadata_context: {
        filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: 'x-1' } } }, empty: {} },
        typed_filter_metadata: { typed: { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([1, 2, 3]) } },
      },
      observability_mode: true,
      protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'STREAMED', send_body_without_waiting_for_header_response: true },
    },
  ],
  ['deprecated HttpHeaders.attributes', { request_headers: { attributes: { a: { fields: { b: { stringValue: 'c' } } } } } }],
];

const responses: Array<[string, ProcessingResponse]> = [
  ['empty request_headers answer', { request_headers: { response: {} } }],
  [
    'header_mutation with raw_value + dynamic_metadata',
    {
      request_headers: {
        response: {
          status: 'CONTINUE',
          clear_route_cache: true,
          header_mutation: {
            set_headers: [
              { header: { key: 'x-ai-eg-model', raw_value: Buffer.from('gpt-4o') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
              { header: { key: 'authorization', raw_value: Buffer.from('Bearer sk-🎉') }, append: { value: false }, keep_empty_value: true },
            ],
            remove_headers: ['content-length', 'x-api-key'],
          },
        },
      },
      dynamic_metadata: toStruct({ 'io.envoy.ai_gateway': { llm_input_token: 12, llm_output_token: 0, backend_name: 'openai', usage_estimated: false, nested: { list: [1, 'two', null, { three: 3 }] } } }),
    },
  ],
  ['body_mutation body', { request_body: { response: { status: 'CONTINUE_AND_REPLACE', body_mutation: { body: Buffer.from('{"model":"x"}') } } } }],
  ['body_mutation clear_body', { response_body: { response: { body_mutation: { clear_body: true } } } }],
  ['body_mutation streamed_response', { response_body: { response: { body_mutation: { streamed_response: { body: Buffer.from('data: x\n\n'), end_of_stream: true } } } } }],
  ['body_mutation base64 string (fromObject accepts it)', { response_body: { response: { body_mutation: { body: Buffer.from('abc').toString('base64') as unknown as Buffer } } } }],
  ['trailers', { response_trailers: { header_mutation: { set_headers: [{ header: { key: 'x-usage', raw_value: Buffer.from('1') } }] } } }],
  ['request_trailers empty', { request_trailers: {} }],
  [
    'immediate_response',
    {
      immediate_response: {
        status: { code: 'BadRequest' },
        headers: { set_headers: [{ header: { key: 'content-type', raw_value: Buffer.from('application/json') } }] },
        body: Buffer.from('{"error":{"message":"bad"}}'),
        grpc_status: { status: 3 },
        details: 'llm_extproc_bad_request',
      },
      dynamic_metadata: toStruct({ 'io.envoy.ai_gateway': { llm_total_token: 0 } }),
    },
  ],
  ['immediate_response numeric status not in the enum', { immediate_response: { status: { code: 299 } } }],
  ['streamed_immediate_response', { streamed_immediate_response: { headers_response: { headers: headers({ ':status': '200' }), end_of_stream: false } } }],
  ['mode_override + timeout + drain', {
    response_headers: { response: {} },
    mode_override: { response_body_mode: 'STREAMED', response_trailer_mode: 'SKIP', request_header_mode: 'SEND' },
    override_message_timeout: { seconds: '-3', nanos: -5 },
    request_drain: true,
  }],
  ['numeric enums and a large uint32', { response_headers: { response: { status: 1 as unknown as 'CONTINUE' } }, immediate_response: { grpc_status: { status: 4_000_000_000 } }, mode_override: { request_body_mode: 7 as unknown as 'NONE' } }],
  ['null fields are unset, unknown enum names dropped', { request_body: { response: { status: 'NOPE' as unknown as 'CONTINUE', header_mutation: null as unknown as undefined } } }],
];

describe('ext_proc codec: ProcessingRequest decode', () => {
  for (const [name, request] of requests) {
    it(name, { timeout: 10_000 }, () => {
      const bytes = reflectEncode(processingRequestType(), request);
      assert.deepStrictEqual(decodeProcessingRequest(bytes), reflectDecode(processingRequestType(), bytes));
      assert.deepStrictEqual(encodeProcessingRequest(request), bytes);
    });
  }
});

describe('ext_proc codec: ProcessingResponse encode', () => {
  for (const [name, response] of responses) {
    it(name, { timeout: 10_000 }, () => {
      const expected = reflectEncode(processingResponseType(), response);
      const actual = encodeProcessingResponse(response);
      assert.deepStrictEqual(actual, expected);
      assert.deepStrictEqual(decodeProcessingResponse(actual), reflectDecode(processingResponseType(), actual));
    });
  }
});

/** Appends a field of every wire type (numbers the messages do not use) to a message's bytes. */
function withUnknownFields(bytes: Buffer): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((90 << 3) | 0).uint64(123456789012345);
  writer.uint32((91 << 3) | 1).fixed64(7);
  writer.uint32((92 << 3) | 2).bytes(Buffer.from('ignored'));
  writer.uint32((93 << 3) | 5).fixed32(9);
  writer.uint32((94 << 3) | 3).uint32((1 << 3) | 0).uint32(5).uint32((2 << 3) | 2).string('in group').uint32((94 << 3) | 4);
  const unknown = Buffer.from(writer.finish());
  return Buffer.concat([unknown, bytes, unknown]);
}

describe('ext_proc codec: unknown fields are skipped', () => {
  it('at the top level and inside nested messages', { timeout: 10_000 }, () => {
    for (const [, request] of requests) {
      const bytes = withUnknownFields(reflectEncode(processingRequestType(), request));
      assert.deepStrictEqual(decodeProcessingRequest(bytes), reflectDecode(processingRequestType(), bytes));
    }
    // Inside a nested HttpBody: field 1 of the body message (request_body = 4) carries unknown fields around it.
    const body = withUnknownFields(reflectEncode(processingRequestType().lookupType('HttpBody'), { body: Buffer.from('x'), end_of_stream: true }));
    const nested = Buffer.concat([Buffer.from([(4 << 3) | 2, body.length]), body]);
    assert.deepStrictEqual(decodeProcessingRequest(nested), reflectDecode(processingRequestType(), nested));
    assert.deepStrictEqual(decodeProcessingRequest(nested).request_body?.body, Buffer.from('x'));
  });

  it('throws on truncated input', { timeout: 10_000 }, () => {
    const bytes = reflectEncode(processingRequestType(), requests[0]![1]);
    assert.throws(() => decodeProcessingRequest(bytes.subarray(0, bytes.length - 3)), RangeError);
  });
});

// ---- random messages (seeded, so a failure reproduces) ----------------------------------------------------------

const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '中', '🎉', ':', '-', '\u0000'];

function randomObject(type: protobuf.Type, random: () => number, depth: number): Record<string, unknown> {
  const int = (max: number) => Math.floor(random() * max);
  const text = () => Array.from({ length: int(12) }, () => ALPHABET[int(ALPHABET.length)]).join('');
  const scalar = (field: protobuf.Field): unknown => {
    if (field.resolvedType instanceof protobuf.Enum) {
      const names = Object.keys(field.resolvedType.values);
      return random() < 0.1 ? 1000 + int(5) : names[int(names.length)];
    }
    if (field.resolvedType instanceof protobuf.Type) return randomObject(field.resolvedType, random, depth + 1);
    switch (field.type) {
      case 'string': return text();
      case 'bytes': return Buffer.from(Array.from({ length: int(40) }, () => int(256)));
      case 'bool': return random() < 0.5;
      case 'uint32': return int(2 ** 32);
      case 'int32': return int(2 ** 32) - 2 ** 31;
      case 'int64': return String(BigInt(int(2 ** 31) - 2 ** 30) * BigInt(int(2 ** 31) + 1));
      case 'double': return random() < 0.2 ? int(1000) : (random() - 0.5) * 1e6;
      default: throw new Error(`no generator for ${field.type}`);
    }
  };
  const object: Record<string, unknown> = {};
  const chosen = new Map<protobuf.OneOf, protobuf.Field>();
  for (const oneof of type.oneofsArray) if (random() < 0.8) chosen.set(oneof, oneof.fieldsArray[int(oneof.fieldsArray.length)]!);
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf ? chosen.get(field.partOf) !== field : random() < 0.45) continue;
    // Recursive types (Struct/Value) stop growing after a few levels.
    if (field.resolvedType instanceof protobuf.Type && depth > 5) continue;
    if (field instanceof protobuf.MapField) {
      const map: Record<string, unknown> = {};
      for (let count = int(4); count > 0; count -= 1) map[text() || 'k'] = scalar(field);
      object[field.name] = map;
    } else if (field.repeated) {
      object[field.name] = Array.from({ length: int(4) }, () => scalar(field));
    } else {
      object[field.name] = scalar(field);
    }
  }
  return object;
}

describe('ext_proc codec: random messages', () => {
  it('ProcessingRequest: 500 random messages decode as reflection decodes them', { timeout: 60_000 }, () => {
    const random = createRandom(9);
    for (let index = 0; index < 500; index += 1) {
      const request = randomObject(processingRequestType(), random, 0);
      const bytes = reflectEncode(processingRequestType(), request);
      assert.deepStrictEqual(decodeProcessingRequest(bytes), reflectDecode(processingRequestType(), bytes), `message ${index}`);
      assert.deepStrictEqual(encodeProcessingRequest(request as ProcessingRequest), bytes, `message ${index}`);
    }
  });

  it('ProcessingResponse: 500 random messages encode to reflection bytes', { timeout: 60_000 }, () => {
    const random = createRandom(19);
    for (let index = 0; index < 500; index += 1) {
      const response = randomObject(processingResponseType(), random, 0);
      const expected = reflectEncode(processingResponseType(), response);
      const actual = encodeProcessingResponse(response as ProcessingResponse);
      assert.deepStrictEqual(actual, expected, `message ${index}`);
      assert.deepStrictEqual(decodeProcessingResponse(actual), reflectDecode(processingResponseType(), actual), `message ${index}`);
    }
  });
});

// ---- constant answers ----------------------------------------------------------------------------------------

describe('ext_proc codec: constant answers (shared buffers)', () => {
  const PHASES: Phase[] = ['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'];
  const shapes = (phase: Phase): ProcessingResponse[] =>
    phase.endsWith('_trailers') ? [{ [phase]: {} }] : [{ [phase]: {} }, { [phase]: { response: {} } }];

  it('give the bytes of reflection and of the general path, the same buffer every time', { timeout: 10_000 }, () => {
    for (const phase of PHASES) {
      for (const response of [answer(phase), ...shapes(phase)]) {
        const expected = reflectEncode(processingResponseType(), response);
        const first = encodeProcessingResponse(response);
        assert.deepStrictEqual(first, expected, JSON.stringify(response));
        // A second, unset key keeps the message the same but takes the general path.
        assert.deepStrictEqual(encodeProcessingResponse({ ...response, dynamic_metadata: undefined }), expected, JSON.stringify(response));
        assert.equal(encodeProcessingResponse(structuredClone(response)), first, 'shared instance');
      }
    }
  });

  it('near misses take the general path and encode what they say', { timeout: 10_000 }, () => {
    const nearMisses: ProcessingResponse[] = [
      { response_body: { response: { status: 'CONTINUE' } } },
      { response_body: { response: { body_mutation: { clear_body: true } } } },
      { response_body: { response: {} }, mode_override: STREAMED_RESPONSE_MODE },
      { response_headers: { response: {} }, request_drain: true },
      answer('response_body', { metadata: { llm_input_token: 1 } }),
      answer('response_trailers', { headers: new HeaderChanges().set('x-usage', '1') }),
      { request_trailers: { response: {} } as never },
      { response_body: { response: null as never } },
      { response_body: null as never },
      {},
    ];
    for (const response of nearMisses) {
      assert.deepStrictEqual(encodeProcessingResponse(response), reflectEncode(processingResponseType(), response), JSON.stringify(response));
    }
    // Inherited enumerable properties count, as on the general path.
    const inherited = Object.create({ status: 'CONTINUE_AND_REPLACE' }) as Record<string, unknown>;
    const response = { request_body: { response: inherited } } as ProcessingResponse;
    assert.deepStrictEqual(encodeProcessingResponse(response), reflectEncode(processingResponseType(), { request_body: { response: { status: 'CONTINUE_AND_REPLACE' } } }));
  });

  it('grpc-js copies the shared buffer into its frame and leaves it unchanged', { timeout: 10_000 }, () => {
    // The server side of grpc-js frames each response with serializeMessage; the frame must be a copy.
    const require = createRequire(import.meta.url);
    const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
      BaseServerInterceptingCall: { prototype: { serializeMessage(value: unknown): Buffer } };
    };
    const call = Object.create(BaseServerInterceptingCall.prototype) as { handler: unknown; serializeMessage(value: unknown): Buffer };
    call.handler = { serialize: encodeProcessingResponse };
    const shared = encodeProcessingResponse(answer('response_body'));
    const before = Buffer.from(shared);
    for (let round = 0; round < 3; round += 1) {
      const frame = call.serializeMessage(answer('response_body'));
      assert.deepStrictEqual(frame.subarray(5), before);
      assert.ok(!(frame.buffer === shared.buffer && frame.byteOffset + 5 === shared.byteOffset), 'frame aliases the shared buffer');
      frame.fill(0xff);
      // Encoding other answers in between must not touch it either.
      encodeProcessingResponse(answer('response_body', { metadata: { llm_input_token: round }, body: Buffer.from('x') }));
    }
    assert.deepStrictEqual(shared, before);
    assert.equal(encodeProcessingResponse(answer('response_body')), shared);
  });
});

describe('ext_proc codec: body chunks (read directly)', () => {
  it('decode as reflection decodes them, for every body length boundary and end_of_stream absent, false or true', { timeout: 30_000 }, () => {
    for (const phase of ['request_body', 'response_body'] as const) {
      for (const size of [0, 1, 120, 125, 126, 127, 128, 16_380, 16_381, 16_383, 16_384, 300_000]) {
        for (const end of [undefined, false, true]) {
          const message = { [phase]: { body: Buffer.alloc(size, 0x62), ...(end === undefined ? {} : { end_of_stream: end }) } };
          const bytes = reflectEncode(processingRequestType(), message);
          const decoded = decodeProcessingRequest(bytes);
          assert.deepStrictEqual(decoded, reflectDecode(processingRequestType(), bytes), `${phase} ${size} ${String(end)}`);
          assert.ok(Buffer.isBuffer((decoded as Record<string, { body: unknown }>)[phase]?.body), 'the body is a Buffer view');
        }
      }
      const empty = reflectEncode(processingRequestType(), { [phase]: {} });
      assert.deepStrictEqual(decodeProcessingRequest(empty), reflectDecode(processingRequestType(), empty));
    }
  });

  it('anything else takes the general path and decodes as reflection does', { timeout: 10_000 }, () => {
    const body = Buffer.from('data: x\n\n');
    const chunk = reflectEncode(processingRequestType(), { response_body: { body, end_of_stream: true } });
    const inner = chunk.subarray(2);
    const variants: Buffer[] = [
      // end_of_stream before body; body twice; an unknown field inside; a multi-byte bool varint.
      Buffer.concat([Buffer.from([0x2a, inner.length]), Buffer.from([0x10, 0x01]), inner.subarray(0, inner.length - 2)]),
      Buffer.concat([Buffer.from([0x2a, inner.length * 2 - 2]), inner.subarray(0, inner.length - 2), inner]),
      Buffer.concat([Buffer.from([0x2a, inner.length + 2]), inner, Buffer.from([0x18, 0x05])]),
      Buffer.concat([Buffer.from([0x2a, inner.length + 1]), inner.subarray(0, inner.length - 1), Buffer.from([0x81, 0x00])]),
      // A second top-level field after the chunk (observability_mode), and one before it.
      Buffer.concat([chunk, Buffer.from([0x50, 0x01])]),
      Buffer.concat([Buffer.from([0x50, 0x01]), chunk]),
    ];
    for (const bytes of variants) {
      assert.deepStrictEqual(decodeProcessingRequest(bytes), reflectDecode(processingRequestType(), bytes), bytes.toString('hex'));
    }
    // Truncated: the general path's error, not a wrong message.
    assert.throws(() => decodeProcessingRequest(chunk.subarray(0, chunk.length - 1)), RangeError);
  });
});

describe('ext_proc codec: body-only answers (written directly)', () => {
  it('give the bytes of reflection and of the general path, for every varint length of the three sizes', { timeout: 30_000 }, () => {
    const sizes = [0, 1, 100, 117, 118, 119, 120, 121, 122, 125, 126, 127, 128, 129, 130, 16_370, 16_375, 16_376, 16_377, 16_380, 16_383, 16_384, 16_390, 300_000, 2_097_140, 2_097_160];
    for (const phase of ['request_body', 'response_body'] as const) {
      for (const size of sizes) {
        const body = Buffer.alloc(size, 0x61 + (size % 26));
        const response: ProcessingResponse = { [phase]: { response: { body_mutation: { body } } } };
        const expected = reflectEncode(processingResponseType(), response);
        assert.deepStrictEqual(encodeProcessingResponse(response), expected, `${phase} ${size}`);
        assert.deepStrictEqual(serializeProcessingResponse(response), expected, `${phase} ${size} (serializer)`);
        // An unset second key: the same message through the general path.
        assert.deepStrictEqual(encodeProcessingResponse({ ...response, dynamic_metadata: undefined }), expected, `${phase} ${size} (general path)`);
        // As the processors build it, from a view into a larger buffer.
        const view = Buffer.concat([Buffer.from('xx'), body, Buffer.from('yy')]).subarray(2, 2 + size);
        assert.deepStrictEqual(encodeProcessingResponse(answer(phase, { body: view.length > 0 ? view : Buffer.from('z') })), reflectEncode(processingResponseType(), answer(phase, { body: view.length > 0 ? view : Buffer.from('z') })));
      }
    }
  });

  it('near misses take the general path and encode what they say', { timeout: 10_000 }, () => {
    const body = Buffer.from('data: {"choices":[]}\n\n');
    const nearMisses: ProcessingResponse[] = [
      { response_headers: { response: { body_mutation: { body } } } },
      { response_body: { response: { body_mutation: { body }, status: 'CONTINUE_AND_REPLACE' } } },
      { response_body: { response: { body_mutation: { body: body.toString('base64') as never } } } },
      { response_body: { response: { body_mutation: { clear_body: true } } } },
      { response_body: { response: { body_mutation: { body } } }, dynamic_metadata: toStruct({ n: 1 }) },
      answer('response_body', { body, metadata: { llm_input_token: 3 } }),
    ];
    for (const response of nearMisses) {
      assert.deepStrictEqual(encodeProcessingResponse(response), reflectEncode(processingResponseType(), response), JSON.stringify(response));
    }
  });
});

describe('ext_proc codec: the serializer grpc-js calls', () => {
  it('large answers reuse one buffer, which grpc-js copies into each frame: earlier frames keep their bytes', { timeout: 10_000 }, () => {
    const require = createRequire(import.meta.url);
    const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
      BaseServerInterceptingCall: { prototype: { serializeMessage(value: unknown): Buffer } };
    };
    const call = Object.create(BaseServerInterceptingCall.prototype) as { handler: unknown; serializeMessage(value: unknown): Buffer };
    call.handler = { serialize: serializeProcessingResponse };
    const bodies = [Buffer.alloc(300_000, 'a'), Buffer.alloc(20_000, 'b'), Buffer.alloc(2_000_000, 'c'), Buffer.alloc(100, 'd'), Buffer.alloc(9 * 1024 * 1024, 'e')];
    const answers = bodies.map((body, index) => answer('request_headers', { replace: true, body, metadata: { content_length: body.length, attempt: index } }));
    const frames = answers.map((each) => call.serializeMessage(each));
    answers.forEach((each, index) => {
      const expected = encodeProcessingResponse(each);
      assert.deepStrictEqual(frames[index]?.subarray(5), expected, `frame ${index}`);
      assert.deepStrictEqual(serializeProcessingResponse(each), expected);
    });
    // The reused buffer: two large answers in a row come back in the same memory.
    const first = serializeProcessingResponse(answers[0] as ProcessingResponse);
    const second = serializeProcessingResponse(answers[1] as ProcessingResponse);
    assert.equal(first.buffer, second.buffer);
  });
});

describe('ext_proc codec: answers as the processors build them', () => {
  it('encode to reflection bytes', { timeout: 10_000 }, () => {
    const metadata = { llm_input_token: 1843, llm_output_token: 0, backend_name: 'openai', usage_estimated: false, 'ключ': 'значение 🎉', long: 'y'.repeat(200) };
    const headers = () => new HeaderChanges().set('x-ai-eg-model', 'gpt-4o').set('authorization', `Bearer ${'k'.repeat(80)}`).set('x-latin1', 'caf\u00e9').remove('x-api-key');
    const cases: ProcessingResponse[] = [
      answer('request_headers', { metadata }),
      answer('request_body', { headers: headers(), body: Buffer.from('{"model":"gpt-4o"}'.repeat(100)), clearRouteCache: true, metadata }),
      answer('response_headers', { headers: new HeaderChanges().remove('content-length'), modeOverride: STREAMED_RESPONSE_MODE }),
      answer('response_body', { body: Buffer.alloc(0), metadata }),
      answer('response_trailers', { metadata }),
    ];
    for (const response of cases) assert.deepStrictEqual(encodeProcessingResponse(response), reflectEncode(processingResponseType(), response));
  });
});

describe('ext_proc codec: dynamic metadata (the direct Struct path)', () => {
  const expectSame = (response: ProcessingResponse, label: string) => {
    const expected = reflectEncode(processingResponseType(), response);
    assert.deepStrictEqual(encodeProcessingResponse(response), expected, label);
    assert.deepStrictEqual(serializeProcessingResponse(response), expected, `${label} (serializer)`);
  };

  it('gives reflection bytes for metadata as the processors build it, across varint length boundaries', { timeout: 30_000 }, () => {
    for (const length of [0, 1, 50, 63, 64, 65, 100, 110, 115, 116, 117, 118, 119, 120, 121, 122, 125, 126, 127, 128, 129, 200, 16_380, 16_384]) {
      const text = 'x'.repeat(length);
      const metadata = {
        llm_input_token: length,
        llm_output_token: -1.5,
        backend_name: text,
        [`k${text.slice(0, 120)}`]: true,
        usage_clamped: false,
        nested: { inner: text, list: [1, 'two', false, null, { deep: [text] }, []] },
        empty: {},
        none: null,
        skipped: undefined,
        unicode: 'é中🎉\u0000',
      };
      expectSame(answer('response_body', { metadata }), `length ${length}`);
      expectSame(answer('request_headers', { replace: true, headers: new HeaderChanges().set(':path', '/v1/x'), metadata }), `length ${length}, with headers`);
    }
    expectSame({ response_body: {}, dynamic_metadata: { fields: {} } }, 'no fields');
    expectSame({ response_body: {}, dynamic_metadata: {} }, 'fields unset');
  });

  it('anything but one field of its own type per Value takes the general path and encodes what it says', { timeout: 10_000 }, () => {
    const values: unknown[] = [
      {},
      { numberValue: 1, stringValue: 'a' },
      { numberValue: null, stringValue: 'a' },
      { numberValue: '5' },
      { stringValue: 7 },
      { boolValue: 1 },
      { nullValue: 'NULL_VALUE' },
      { nullValue: 0 },
      { structValue: { fields: null } },
      { structValue: {} },
      { listValue: { values: null } },
      { listValue: {} },
      { listValue: { values: [{}, { numberValue: 2, boolValue: true }, { stringValue: 'x' }] } },
      { structValue: { fields: { a: { numberValue: 1, boolValue: false } } } },
      { numberValue: 3, unknownKey: 'ignored' },
    ];
    for (const value of values) {
      const response = { response_body: {}, dynamic_metadata: { fields: { 'io.envoy.ai_gateway': { structValue: { fields: { key: value } } } } } } as unknown as ProcessingResponse;
      expectSame(response, JSON.stringify(value));
    }
  });

  it('refuses what the general path refuses', { timeout: 10_000 }, () => {
    for (const fields of [{ key: 5 }, { key: null }, { key: { structValue: 'not an object' } }]) {
      const response = { response_body: {}, dynamic_metadata: { fields } } as unknown as ProcessingResponse;
      assert.throws(() => encodeProcessingResponse(response), TypeError, JSON.stringify(fields));
    }
  });
});
