/**
 * The stand-in's router and upstream filter chain: one upstream-level ext_proc stream per attempt, the shared
 * header map across retries, the header_mutation filter, retries across priorities, and the rate-limit hook.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import type { FilterRequestView, RateLimitFilterHook } from './hooks.js';
import { HeaderMap } from './header-map.js';
import { pickTarget, resolveRoute, seededRandom } from './routing.js';
import { answerFor, headerOf, isUpstreamLevel, passThrough, setHeader, type Script } from './scripted-ext-proc.js';
import { loadConfig, postJson, startHarness } from './test-setup.js';
import { BACKEND_ATTRIBUTES } from './upstream-attempt.js';

/** Upstream-level streams answer their reqH with `upstream(request)`; the router-level stream passes through. */
function onUpstream(upstream: (request: ProcessingRequest) => ProcessingResponse | 'fail'): Script {
  return async (stream) => {
    const first = await stream.next();
    if (!first) return;
    if (!isUpstreamLevel(first)) {
      stream.send(answerFor(first));
      await passThrough(stream);
      return;
    }
    const answer = upstream(first);
    if (answer === 'fail') stream.fail(13, 'translation failed');
    else stream.send(answer);
    await stream.next();
  };
}

const backendOf = (request: ProcessingRequest): string =>
  request.attributes?.['envoy.filters.http.ext_proc']?.fields?.[BACKEND_ATTRIBUTES[0] ?? '']?.stringValue ?? '';

async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('Envoy stand-in: router, retries and the upstream filter chain', () => {
  it('opens a fresh upstream-level stream per attempt, with backend attributes, and retries 503 to the next priority', async () => {
    const harness = await startHarness({
      script: passThrough,
      upstreams: { a: { kind: 'json', status: 503, body: { error: 'busy' } }, b: { kind: 'json', body: { from: 'b' } } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.deepEqual(await response.json(), { from: 'b' });
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.deepEqual(record?.attempts.map((attempt) => [attempt.backend, attempt.status]), [['a', 503], ['b', 200]]);
      assert.equal(record?.extProcStreams, 3);
      const upstreamStreams = harness.extProc.streams.filter((stream) => stream.received[0] && isUpstreamLevel(stream.received[0]));
      assert.equal(upstreamStreams.length, 2);
      for (const [index, backend] of ['a', 'b'].entries()) {
        const messages = upstreamStreams[index]?.received ?? [];
        assert.equal(messages.length, 1);
        const fields = messages[0]?.attributes?.['envoy.filters.http.ext_proc']?.fields ?? {};
        assert.deepEqual(Object.keys(fields).sort(), [...BACKEND_ATTRIBUTES].sort());
        assert.ok(Object.values(fields).every((value) => value.stringValue === backend));
        assert.equal(headerOf(messages[0] ?? {}, 'x-envoy-attempt-count'), String(index + 1));
      }
      assert.equal(headerOf(upstreamStreams[0]?.received[0] ?? {}, ':authority'), 'api.a.test');
      assert.equal(headerOf(upstreamStreams[1]?.received[0] ?? {}, ':authority'), 'b.test:8080');
      assert.equal(headerOf(upstreamStreams[1]?.received[0] ?? {}, ':scheme'), 'http');
      const ids = record?.attempts.map((attempt) => attempt.extProcStreamId);
      assert.equal(new Set(ids).size, 2);
    } finally {
      await harness.close();
    }
  });

  it('shares one header map across retries: attempt 1 mutations are visible to attempt 2', async () => {
    const harness = await startHarness({
      script: onUpstream((request) => answerFor(request, { header_mutation: { set_headers: [setHeader(`x-set-for-${backendOf(request)}`, 'yes')] } })),
      upstreams: { a: { kind: 'raw', status: 500, body: 'down' }, b: { kind: 'json', body: {} } },
    });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await harness.envoy.settled();
      const second = harness.extProc.streams.find((stream) => stream.received[0] && backendOf(stream.received[0]) === 'b');
      assert.equal(headerOf(second?.received[0] ?? {}, 'x-set-for-a'), 'yes');
      assert.equal(harness.upstreams.b?.requests[0]?.headers['x-set-for-a'], 'yes');
      assert.equal(harness.upstreams.b?.requests[0]?.headers['x-set-for-b'], 'yes');
    } finally {
      await harness.close();
    }
  });

  it('CONTINUE_AND_REPLACE drops content-length; the header_mutation filter restores it from metadata', async () => {
    const replace = (withLength: boolean): Script =>
      onUpstream((request) => ({
        ...answerFor(request, { status: 'CONTINUE_AND_REPLACE', body_mutation: { body: Buffer.from('{"model":"x"}') } }),
        ...(withLength
          ? { dynamic_metadata: { fields: { 'io.envoy.ai_gateway': { structValue: { fields: { content_length: { numberValue: 13 } } } } } } }
          : {}),
      }));
    const withLength = await startHarness({ script: replace(true), yaml: undefined });
    try {
      assert.equal((await postJson(withLength.envoy, { model: 'm', extra: true })).status, 200);
      const got = withLength.upstreams.a?.requests[0];
      assert.equal(got?.text(), '{"model":"x"}');
      assert.equal(got?.headers['content-length'], '13');
      assert.equal(got?.headers['transfer-encoding'], undefined);
    } finally {
      await withLength.close();
    }
    const without = await startHarness({ script: replace(false) });
    try {
      assert.equal((await postJson(without.envoy, { model: 'm', extra: true })).status, 200);
      const got = without.upstreams.a?.requests[0];
      assert.equal(got?.text(), '{"model":"x"}');
      assert.equal(got?.headers['content-length'], undefined);
      assert.equal(got?.headers['transfer-encoding'], 'chunked');
    } finally {
      await without.close();
    }
  });

  it('refuses (500, not modelled) an upstream request whose content-length is not its body length, instead of leaving the upstream waiting', async () => {
    const harness = await startHarness({
      script: onUpstream((request) => answerFor(request, { header_mutation: { set_headers: [setHeader('content-length', '999')] } })),
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 500);
      assert.match(await response.text(), /content-length 999, its body has \d+ bytes \(not modelled\)/);
      assert.equal(harness.upstreams.a?.requests.length ?? 0, 0, 'nothing reached the upstream');
    } finally {
      await harness.close();
    }
  });

  it('fails the attempt with 500 on an upstream-level ext_proc error, without retrying', async () => {
    const harness = await startHarness({ script: onUpstream(() => 'fail'), upstreams: { a: { kind: 'json', body: {} }, b: { kind: 'json', body: {} } } });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 500);
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.responseCodeDetails, 'ext_proc_error_gRPC_error_13{translation_failed}');
      assert.equal(record?.attempts.length, 1);
      assert.equal(harness.upstreams.a?.requests.length, 0);
      assert.equal(harness.upstreams.b?.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it('sends an upstream-level immediate response downstream, without retrying', async () => {
    const harness = await startHarness({
      script: onUpstream(() => ({ immediate_response: { status: { code: 'Unauthorized' }, body: Buffer.from('no key') } })),
      upstreams: { a: { kind: 'json', body: {} }, b: { kind: 'json', body: {} } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 401);
      assert.equal(await response.text(), 'no key');
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.attempts.length, 1);
      assert.equal(harness.upstreams.b?.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it('retries a connect failure to the next priority, and answers 503 when retries run out', async () => {
    const harness = await startHarness({
      script: passThrough,
      upstreams: { b: { kind: 'json', body: { from: 'b' } } },
      upstreamUrls: { a: await closedPort() },
    });
    try {
      assert.deepEqual(await (await postJson(harness.envoy, { model: 'm' })).json(), { from: 'b' });
      const solo = await postJson(harness.envoy, { model: 'solo' }, { 'x-ai-eg-model': 'solo' });
      assert.equal(solo.status, 503);
      await harness.envoy.settled();
      assert.deepEqual(harness.envoy.requests[0]?.attempts.map((attempt) => attempt.failure ?? attempt.status), ['connect_failure', 200]);
      assert.equal(harness.envoy.requests[1]?.responseCodeDetails, 'upstream_reset_before_response_started{connection_failure}');
    } finally {
      await harness.close();
    }
  });

  it('routes on x-ai-eg-backend with upstreamFilter false, with no upstream-level stream', async () => {
    const chooseB: Script = async (stream) => {
      for (let message = await stream.next(); message; message = await stream.next()) {
        stream.send(
          message.request === 'request_body'
            ? answerFor(message, { clear_route_cache: true, header_mutation: { set_headers: [setHeader('x-ai-eg-backend', 'b')] } })
            : answerFor(message),
        );
      }
    };
    const harness = await startHarness({ script: chooseB, upstreamFilter: false, upstreams: { a: { kind: 'json', body: {} }, b: { kind: 'json', body: { from: 'b' } } } });
    try {
      assert.deepEqual(await (await postJson(harness.envoy, { model: 'm' })).json(), { from: 'b' });
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.routeName, 'b');
      assert.equal(record?.extProcStreams, 1);
      assert.equal(harness.upstreams.b?.requests[0]?.headers.host, 'b.test:8080');
    } finally {
      await harness.close();
    }
  });

  it('runs the rate-limit hook after routing: 429 when over, stream-done charge with final metadata', async () => {
    const seen: Array<{ phase: string; view: FilterRequestView }> = [];
    let over = false;
    const hook: RateLimitFilterHook = {
      onRequest: async (view) => {
        seen.push({ phase: 'request', view });
        return { overLimit: over, responseHeaders: { 'x-ratelimit-remaining': over ? '0' : '5' } };
      },
      onStreamDone: (view) => seen.push({ phase: 'done', view: { ...view, metadata: structuredClone(view.metadata) } }),
    };
    const script: Script = async (stream) => {
      for (let message = await stream.next(); message; message = await stream.next()) {
        const answer = answerFor(message);
        if (message.request === 'response_body') {
          answer.dynamic_metadata = { fields: { 'io.envoy.ai_gateway': { structValue: { fields: { tokens: { numberValue: 42 } } } } } };
        }
        stream.send(answer);
      }
    };
    const harness = await startHarness({ script, envoy: { rateLimit: hook } });
    try {
      const ok = await postJson(harness.envoy, { model: 'm' });
      assert.equal(ok.headers.get('x-ratelimit-remaining'), '5');
      await ok.text();
      await harness.envoy.settled();
      const respH = harness.extProc.streams[0]?.received.find((message) => message.request === 'response_headers');
      assert.equal(headerOf(respH ?? {}, 'x-ratelimit-remaining'), '5');
      assert.deepEqual(seen.map((entry) => entry.phase), ['request', 'done']);
      assert.equal(seen[0]?.view.routeName, 'm');
      assert.deepEqual(seen[1]?.view.metadata, { 'io.envoy.ai_gateway': { tokens: 42 } });
      over = true;
      const limited = await postJson(harness.envoy, { model: 'm' });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('x-envoy-ratelimited'), 'true');
      await harness.envoy.settled();
      assert.deepEqual(seen.map((entry) => entry.phase), ['request', 'done', 'request', 'done']);
      assert.equal(harness.envoy.requests[1]?.responseCodeDetails, 'request_rate_limited');
    } finally {
      await harness.close();
    }
  });
});

describe('routing', () => {
  it('excludes attempted priorities, then starts over', () => {
    const route = { name: 'r', targets: [{ backend: 'a', priority: 0, weight: 1 }, { backend: 'b', priority: 1, weight: 1 }] };
    const attempted = new Set<number>();
    const picks: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const target = pickTarget(route, attempted, seededRandom(1));
      attempted.add(target.priority);
      picks.push(target.backend);
    }
    assert.deepEqual(picks, ['a', 'b', 'a']);
  });

  it('picks by weight within a priority, reproducibly for a seed', () => {
    const route = { name: 'r', targets: [{ backend: 'a', priority: 0, weight: 1 }, { backend: 'b', priority: 0, weight: 3 }] };
    const run = (seed: number): string[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 200 }, () => pickTarget(route, new Set(), random).backend);
    };
    const picks = run(7);
    assert.deepEqual(picks, run(7));
    const bShare = picks.filter((backend) => backend === 'b').length / picks.length;
    assert.ok(bShare > 0.6 && bShare < 0.9, `b share ${bShare}`);
  });

  it('matches x-ai-eg-model, or x-ai-eg-backend in router-only mode', async () => {
    const yaml = 'backends: [{ name: a, schema: OpenAI, endpoint: http://a.test }]\nmodels: [{ name: m, backends: [{ backend: a, weight: 0 }, { backend: a, priority: 1 }] }]';
    const dual = await loadConfig(yaml, true);
    assert.deepEqual(resolveRoute(dual, HeaderMap.fromPairs([['x-ai-eg-model', 'm']]))?.targets, [{ backend: 'a', priority: 1, weight: 1 }]);
    assert.equal(resolveRoute(dual, HeaderMap.fromPairs([['x-ai-eg-backend', 'a']])), undefined);
    const routerOnly = await loadConfig(yaml, false);
    assert.equal(resolveRoute(routerOnly, HeaderMap.fromPairs([['x-ai-eg-backend', 'a']]))?.name, 'a');
    assert.equal(resolveRoute(routerOnly, HeaderMap.fromPairs([['x-ai-eg-model', 'm']])), undefined);
  });
});
