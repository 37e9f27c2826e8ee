import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicMetadata, FilterRequestView } from '../hooks.js';
import {
  createRateLimitFilter,
  InProcessRateLimitService,
  RateLimitPolicyError,
  xRateLimitHeaders,
  type RateLimitRequest,
  type RateLimitResponse,
  type RateLimitService,
} from './index.js';

const NS = 'io.envoy.ai_gateway';
const CONFIG = `
domain: llm
descriptors:
  - key: tenant
    descriptors:
      - key: model
        rate_limit: {unit: minute, requests_per_unit: 1000}
`;

const tenantModel = [
  { request_headers: { header_name: 'x-tenant', descriptor_key: 'tenant' } },
  { request_headers: { header_name: 'x-ai-eg-model', descriptor_key: 'model' } },
];

/** The reserve-then-settle policy pair the generated Envoy config uses. */
const reservePolicy = {
  '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute',
  rate_limits: [
    { actions: tenantModel, hits_addend: { format: `%DYNAMIC_METADATA(${NS}:llm_total_token_reserve)%` } },
    { actions: tenantModel, hits_addend: { format: `%DYNAMIC_METADATA(${NS}:llm_total_token)%` }, apply_on_stream_done: true },
  ],
};

function view(headers: Record<string, string>, metadata: DynamicMetadata, routeName = 'gpt-4o'): FilterRequestView {
  return { headers: new Map(Object.entries(headers)), metadata, routeName };
}

function setup(policy: unknown = reservePolicy, extra: Partial<Parameters<typeof createRateLimitFilter>[0]> = {}) {
  const service = new InProcessRateLimitService({ config: CONFIG, now: () => 1_700_000_000_000 });
  const filter = createRateLimitFilter({ domain: 'llm', policies: { 'gpt-4o': policy }, service, ...extra });
  return { service, filter };
}

const headers = { 'x-tenant': 'acme', 'x-ai-eg-model': 'gpt-4o' };
const entries = [{ key: 'tenant', value: 'acme' }, { key: 'model', value: 'gpt-4o' }];

describe('rate limit filter: request phase', () => {
  it('charges the reserve from metadata, answers 429 over budget, with x-ratelimit-* headers', async () => {
    const { service, filter } = setup();
    const first = await filter.onRequest(view(headers, { [NS]: { llm_total_token_reserve: 600 } }));
    assert.deepEqual(first, {
      overLimit: false,
      responseHeaders: { 'x-ratelimit-limit': '1000, 1000;w=60', 'x-ratelimit-remaining': '400', 'x-ratelimit-reset': '40' },
    });
    const second = await filter.onRequest(view(headers, { [NS]: { llm_total_token_reserve: 600 } }));
    assert.equal(second.overLimit, true);
    assert.equal(second.status, 429);
    assert.equal(second.responseHeaders?.['x-ratelimit-remaining'], '0');
    assert.equal(service.used('llm', entries), 1200);
    assert.deepEqual(filter.calls[0]?.request, { domain: 'llm', descriptors: [{ entries, hitsAddend: 600 }], hitsAddend: 0 });
  });

  it('numeric strings are accepted and truncated; missing, negative, > 1e9 or non-numeric values drop the descriptor', async () => {
    const cases: [unknown, number | undefined][] = [
      ['250.9', 250],
      [' 12 ', 12],
      [7.99, 7],
      [0, 0],
      [undefined, undefined],
      [null, undefined],
      [-1, undefined],
      [1_000_000_001, undefined],
      ['12abc', undefined],
      [true, undefined],
      [{ nested: 1 }, undefined],
    ];
    for (const [value, hits] of cases) {
      const { filter } = setup();
      const metadata: DynamicMetadata = value === undefined ? { [NS]: {} } : { [NS]: { llm_total_token_reserve: value } };
      await filter.onRequest(view(headers, metadata));
      if (hits === undefined) assert.equal(filter.calls.length, 0, `value ${JSON.stringify(value)} drops the descriptor: no call`);
      else assert.equal(filter.calls[0]?.request.descriptors[0]?.hitsAddend, hits, JSON.stringify(value));
    }
  });

  it('a missing header drops the descriptor unless skip_if_absent; number hits_addend is sent as is', async () => {
    const policy = {
      rate_limits: [
        { actions: [{ request_headers: { header_name: 'x-tenant', descriptor_key: 'tenant' } }], hits_addend: { number: 0 } },
        { actions: [{ request_headers: { header_name: 'x-team', descriptor_key: 'team', skip_if_absent: true } }, { generic_key: { descriptor_value: 'all' } }] },
      ],
    };
    const { filter } = setup(policy);
    await filter.onRequest(view({}, {}));
    assert.deepEqual(filter.calls[0]?.request.descriptors, [{ entries: [{ key: 'generic_key', value: 'all' }] }]);
    await filter.onRequest(view({ 'x-tenant': 't1', 'x-team': 'blue' }, {}));
    assert.deepEqual(filter.calls[1]?.request.descriptors, [
      { entries: [{ key: 'tenant', value: 't1' }], hitsAddend: 0 },
      { entries: [{ key: 'team', value: 'blue' }, { key: 'generic_key', value: 'all' }] },
    ]);
  });

  it('metadata action: string values only, default_value, missing without default drops the descriptor', async () => {
    const action = (extra: object) => ({ metadata: { descriptor_key: 'backend', metadata_key: { key: NS, path: [{ key: 'backend_name' }] }, ...extra } });
    const policy = { rate_limits: [{ actions: [action({})] }, { actions: [action({ default_value: 'unknown' })] }] };
    const { filter } = setup(policy);
    await filter.onRequest(view({}, { [NS]: { backend_name: 'openai' } }));
    assert.deepEqual(filter.calls[0]?.request.descriptors.map((d) => d.entries[0]?.value), ['openai', 'openai']);
    await filter.onRequest(view({}, { [NS]: { backend_name: 42 } }));
    assert.deepEqual(filter.calls[1]?.request.descriptors.map((d) => d.entries[0]?.value), ['unknown']);
  });

  it('header_value_match, per-route domain, routes without policies', async () => {
    const policy = {
      domain: 'premium',
      rate_limits: [{ actions: [{ header_value_match: { descriptor_value: 'beta', headers: [{ name: 'x-beta', string_match: { exact: 'yes' } }] } }] }],
    };
    const service: RateLimitService & { requests: RateLimitRequest[] } = {
      requests: [],
      async shouldRateLimit(request) {
        this.requests.push(request);
        return { overallCode: 'OK', statuses: request.descriptors.map(() => ({ code: 'OK' as const, limitRemaining: 0 })) };
      },
    };
    const filter = createRateLimitFilter({ domain: 'llm', policies: { 'gpt-4o': policy }, service });
    await filter.onRequest(view({ 'x-beta': 'no' }, {}));
    await filter.onRequest(view({ 'x-beta': 'yes' }, {}));
    await filter.onRequest(view({ 'x-beta': 'yes' }, {}, 'other-route'));
    assert.deepEqual(service.requests, [{ domain: 'premium', descriptors: [{ entries: [{ key: 'header_match', value: 'beta' }] }], hitsAddend: 0 }]);
  });

  it('a failing service fails open, or answers status_on_error with failure_mode_deny', async () => {
    const broken: RateLimitService = { shouldRateLimit: () => Promise.reject(new Error('unavailable')) };
    const open = createRateLimitFilter({ domain: 'llm', policies: { 'gpt-4o': reservePolicy }, service: broken });
    assert.deepEqual(await open.onRequest(view(headers, { [NS]: { llm_total_token_reserve: 1 } })), { overLimit: false });
    const deny = createRateLimitFilter({ domain: 'llm', policies: { 'gpt-4o': reservePolicy }, service: broken, failureModeDeny: true });
    assert.deepEqual(await deny.onRequest(view(headers, { [NS]: { llm_total_token_reserve: 1 } })), { overLimit: true, status: 500 });
    assert.equal(deny.calls[0]?.error, 'unavailable');
  });

  it('rejects configs Envoy rejects', () => {
    const service = new InProcessRateLimitService({ config: CONFIG });
    for (const [rateLimit, message] of [
      [{ actions: [{ dynamic_metadata: { descriptor_key: 'k', metadata_key: { key: NS, path: [{ key: 'x' }] } } }] }, /Unsupported rate limit action: dynamic_metadata/],
      [{ actions: tenantModel, stage: 1 }, /'stage' field/],
      [{ actions: tenantModel, limit: { dynamic_metadata: {} } }, /'limit' field is not supported/],
      [{ actions: tenantModel, hits_addend: { number: 1, format: `%DYNAMIC_METADATA(${NS}:x)%` } }, /either a format or a number/],
      [{ actions: tenantModel, hits_addend: { format: `tokens %DYNAMIC_METADATA(${NS}:x)%` } }, /exactly one substitution/],
      [{ actions: tenantModel, hits_addend: { number: 2_000_000_000 } }, /0\.\.1e9/],
    ] as const) {
      assert.throws(
        () => createRateLimitFilter({ domain: 'llm', policies: { 'gpt-4o': { rate_limits: [rateLimit] } }, service }),
        (error: unknown) => error instanceof RateLimitPolicyError && message.test(error.message),
      );
    }
  });
});

describe('rate limit filter: stream done', () => {
  it('charges the final metadata value fire-and-forget, with only the apply_on_stream_done policies', async () => {
    const { service, filter } = setup();
    const metadata: DynamicMetadata = { [NS]: { llm_total_token_reserve: 300 } };
    await filter.onRequest(view(headers, metadata));
    metadata[NS] = { ...metadata[NS], llm_total_token: 450 };
    filter.onStreamDone(view(headers, metadata));
    await filter.flush();
    assert.equal(service.used('llm', entries), 750);
    assert.deepEqual(filter.calls.map((call) => [call.phase, call.request.descriptors[0]?.hitsAddend]), [
      ['request', 300],
      ['stream_done', 450],
    ]);
  });

  it('a missing cost key at stream done charges nothing (the descriptor is dropped)', async () => {
    const { service, filter } = setup();
    filter.onStreamDone(view(headers, { [NS]: {} }));
    await filter.flush();
    assert.equal(filter.calls.length, 0);
    assert.equal(service.used('llm', entries), 0);
  });
});

describe('x-ratelimit headers (DRAFT_VERSION_03)', () => {
  it('the least remaining status gives limit/remaining/reset; every limited status adds a quota policy', () => {
    const response: RateLimitResponse = {
      overallCode: 'OK',
      statuses: [
        { code: 'OK', currentLimit: { requestsPerUnit: 1, unit: 'MINUTE', name: 'first' }, limitRemaining: 2, durationUntilReset: 3 },
        { code: 'OK', limitRemaining: 0 },
        { code: 'OK', currentLimit: { requestsPerUnit: 4, unit: 'HOUR', name: 'second' }, limitRemaining: 5, durationUntilReset: 6 },
      ],
    };
    assert.deepEqual(xRateLimitHeaders(response.statuses), {
      'x-ratelimit-limit': '1, 1;w=60;name="first", 4;w=3600;name="second"',
      'x-ratelimit-remaining': '2',
      'x-ratelimit-reset': '3',
    });
    assert.deepEqual(xRateLimitHeaders([{ code: 'OK', limitRemaining: 0 }]), {});
  });
});
