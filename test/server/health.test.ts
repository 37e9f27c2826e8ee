/**
 * grpc.health.v1.Health (src/server/health.ts): its codec against proto-loader over the public health.proto (same
 * bytes both ways), its behaviour on a bare grpc-js server (what the grpc-health-check package did), and the
 * shipped service seen by a standard proto-loader client: SERVING, NOT_FOUND, and NOT_SERVING when it drains.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import {
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  decodeHealthListRequest,
  decodeHealthListResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  encodeHealthListResponse,
  HealthService,
  LIST_LIMIT,
  type ServingStatus,
  type WatchedStatus,
} from '../../src/server/health.js';
import { EXT_PROC_SERVICE_NAME } from '../../src/server/ext-proc-codec.js';
import { check, HEALTH_PROTO, HEALTH_PROTO_OPTIONS, healthClient, HealthWatch, type HealthClient } from '../helpers/health-client.js';
import { startTestService } from '../helpers/service.js';

const TIMEOUT = { timeout: 20_000 };

const definition = loadSync(HEALTH_PROTO, HEALTH_PROTO_OPTIONS);
const service = definition['grpc.health.v1.Health'] as Record<string, MethodDefinition<object, object>>;
const CHECK = service['Check'] as MethodDefinition<object, object>;
const LIST = service['List'] as MethodDefinition<object, object>;

const STATUSES: WatchedStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

describe('health codec against proto-loader', () => {
  it('HealthCheckResponse: the same bytes for every status, read back the same both ways', () => {
    for (const status of STATUSES) {
      const reference = CHECK.responseSerialize({ status });
      assert.deepEqual(encodeHealthCheckResponse({ status }), reference, status);
      assert.deepEqual(decodeHealthCheckResponse(reference), { status });
      assert.deepEqual(CHECK.responseDeserialize(encodeHealthCheckResponse({ status })), { status });
    }
    assert.deepEqual(decodeHealthCheckResponse(Buffer.alloc(0)), { status: 'UNKNOWN' }, 'an absent status is UNKNOWN (0)');
    assert.deepEqual(decodeHealthCheckResponse(Buffer.from([0x08, 0x07])), CHECK.responseDeserialize(Buffer.from([0x08, 0x07])), 'an unnamed number stays a number');
  });

  it('HealthCheckRequest: the same bytes for any service name, read back the same both ways', () => {
    for (const name of ['', 'grpc.health.v1.Health', EXT_PROC_SERVICE_NAME, 'héllo 🎉', 'x'.repeat(300)]) {
      const reference = CHECK.requestSerialize({ service: name });
      assert.deepEqual(encodeHealthCheckRequest({ service: name }), reference, name);
      assert.deepEqual(decodeHealthCheckRequest(reference), { service: name });
      assert.deepEqual(CHECK.requestDeserialize(encodeHealthCheckRequest({ service: name })), { service: name });
    }
    assert.deepEqual(decodeHealthCheckRequest(Buffer.alloc(0)), { service: '' }, 'an absent name is the whole server');
  });

  it('skips unknown fields of every wire type, and a field 1 of the wrong wire type', () => {
    const bytes = Buffer.concat([
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 2: varint, 10 bytes
      Buffer.from([0x19, 1, 2, 3, 4, 5, 6, 7, 8]), // 3: fixed64
      Buffer.from([0x25, 1, 2, 3, 4]), // 4: fixed32
      Buffer.from([0x2a, 0x02, 0x61, 0x62]), // 5: bytes
      Buffer.from([0x33, 0x08, 0x01, 0x3b, 0x3c, 0x34]), // 6: group holding a varint and an empty group 7
      Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]), // 1: "abc"
      Buffer.from([0x08, 0x05]), // 1 as a varint: not a string, skipped
      Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]), // the largest field number, varint
    ]);
    assert.deepEqual(decodeHealthCheckRequest(bytes), { service: 'abc' });
    assert.deepEqual(decodeHealthListRequest(bytes), {});
  });

  it('refuses malformed messages (grpc-js answers INTERNAL)', () => {
    for (const bytes of [[0x0a, 0x05, 0x61], [0x0a], [0x10, 0x80], [0x00, 0x01], [0x0f], [0x33, 0x08, 0x01], [0x33, 0x44], [0x19, 1, 2]]) {
      assert.throws(() => decodeHealthCheckRequest(Buffer.from(bytes)), /^Error: health: /, JSON.stringify(bytes));
    }
  });

  it('HealthListResponse: the same bytes for a map of statuses, read back the same both ways', () => {
    const cases: Record<string, { status: ServingStatus }>[] = [
      {},
      { '': { status: 'SERVING' } },
      { '': { status: 'SERVING' }, [EXT_PROC_SERVICE_NAME]: { status: 'NOT_SERVING' }, 'é': { status: 'UNKNOWN' }, ['y'.repeat(200)]: { status: 'SERVING' } },
    ];
    for (const statuses of cases) {
      const reference = LIST.responseSerialize({ statuses });
      assert.deepEqual(encodeHealthListResponse({ statuses }), reference);
      assert.deepEqual({ ...decodeHealthListResponse(reference).statuses }, statuses);
      assert.deepEqual(LIST.responseDeserialize(encodeHealthListResponse({ statuses })), { statuses });
    }
    assert.deepEqual(LIST.requestSerialize({}), Buffer.alloc(0));
  });
});

describe('HealthService on a grpc-js server', () => {
  let server: grpc.Server;
  let health: HealthService;
  let client: HealthClient;

  before(async () => {
    server = new grpc.Server();
    health = new HealthService({ '': 'SERVING', unknown: 'UNKNOWN' });
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    client = healthClient(`127.0.0.1:${port}`);
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it('Check: a known service gets its status (UNKNOWN included), an unknown one NOT_FOUND', TIMEOUT, async () => {
    assert.equal(await check(client, ''), 'SERVING');
    assert.equal(await check(client, 'unknown'), 'UNKNOWN');
    await assert.rejects(check(client, 'nope'), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.NOT_FOUND);
      assert.equal(error.details, 'Health status unknown for service nope');
      return true;
    });
  });

  it('Watch: the current status (SERVICE_UNKNOWN before any), then one message per setStatus; cancel stops it', TIMEOUT, async () => {
    const watch = new HealthWatch(client, 'later');
    assert.equal(await watch.next(), 'SERVICE_UNKNOWN');
    const other = new HealthWatch(client, 'later');
    assert.equal(await other.next(), 'SERVICE_UNKNOWN');
    health.setStatus('later', 'SERVING');
    assert.equal(await watch.next(), 'SERVING');
    assert.equal(await other.next(), 'SERVING');
    health.setStatus('unrelated', 'NOT_SERVING');
    health.setStatus('later', 'SERVING');
    assert.equal(await watch.next(), 'SERVING', 'sent again on every setStatus, as the package did');
    health.setStatus('later', 'NOT_SERVING');
    assert.equal(await watch.next(), 'NOT_SERVING');
    other.cancel();
    assert.equal((await other.done).code, grpc.status.CANCELLED);
    watch.cancel();
    assert.equal((await watch.done).code, grpc.status.CANCELLED);
    assert.equal(await check(client, 'later'), 'NOT_SERVING');
  });

  it(`List: every service's status, up to ${LIST_LIMIT}; RESOURCE_EXHAUSTED above`, TIMEOUT, async () => {
    const list = () =>
      new Promise<Record<string, { status: string }>>((resolve, reject) =>
        client.list({}, { deadline: Date.now() + 5_000 }, (error, response) => (error ? reject(error) : resolve(response?.statuses ?? {}))),
      );
    const listed = await list();
    assert.equal(listed['']?.status, 'SERVING');
    assert.equal(listed['unknown']?.status, 'UNKNOWN');
    const names = Object.keys(listed);
    for (let index = names.length; index < LIST_LIMIT; index += 1) health.setStatus(`svc-${index}`, 'SERVING');
    assert.equal(Object.keys(await list()).length, LIST_LIMIT);
    health.setStatus('one-too-many', 'SERVING');
    await assert.rejects(list(), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(error.details, 'Too many services to list.');
      return true;
    });
  });
});

describe('start-up cost', () => {
  it('importing the service loads neither proto-loader nor protobufjs (the health service was the last user)', TIMEOUT, async () => {
    const script = `
      await import('./src/service.ts');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /[\\/]node_modules[\\/](@grpc[\\/]proto-loader|protobufjs|grpc-health-check)[\\/]/.test(path));
      console.log(JSON.stringify(loaded));`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', `import { createRequire } from 'node:module';${script}`],
        { cwd: fileURLToPath(new URL('../../', import.meta.url)), timeout: 15_000 },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''), []);
  });
});

describe('the shipped service', () => {
  const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;

  it("answers SERVING for '' and the ext_proc service, NOT_FOUND otherwise, and Watch sees NOT_SERVING at drain", TIMEOUT, async () => {
    const service = await startTestService({ configYaml: CONFIG });
    const client = healthClient(service.address);
    try {
      assert.equal(await check(client, ''), 'SERVING');
      assert.equal(await check(client, EXT_PROC_SERVICE_NAME), 'SERVING');
      await assert.rejects(check(client, 'grpc.health.v1.Health'), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND);
      const whole = new HealthWatch(client, '');
      const extProc = new HealthWatch(client, EXT_PROC_SERVICE_NAME);
      assert.equal(await whole.next(), 'SERVING');
      assert.equal(await extProc.next(), 'SERVING');

      // A Watch is a stream in flight: drain waits for it (as it did with grpc-health-check), so the test ends them.
      const drained = service.drain(60_000);
      assert.equal(await whole.next(), 'NOT_SERVING');
      assert.equal(await extProc.next(), 'NOT_SERVING');
      whole.cancel();
      extProc.cancel();
      await drained;
    } finally {
      client.close();
      await service.drain(0);
    }
  });
});
