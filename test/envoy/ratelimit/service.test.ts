import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessRateLimitService, RateLimitConfig, RateLimitConfigError } from './index.js';

const CONFIG = `
domain: llm
descriptors:
  - key: tenant
    descriptors:
      - key: model
        rate_limit: {unit: minute, requests_per_unit: 1000}
      - key: model
        value: gpt-4o-mini
        rate_limit: {unit: hour, requests_per_unit: 50, name: mini}
  - key: tenant
    value: vip
    rate_limit: {unit: MINUTE, requests_per_unit: 5}
  - key: plan
    value: "gold*"
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: free
    rate_limit: {unlimited: true}
  - key: shadow
    shadow_mode: true
    rate_limit: {unit: day, requests_per_unit: 1}
`;

function clock(startMs: number) {
  let now = startMs;
  return { now: () => now, set: (ms: number) => (now = ms), advance: (ms: number) => (now += ms) };
}

const T0 = 1_700_000_000_000; // 1700000000 s: a minute boundary is 1699999980

describe('envoyproxy/ratelimit config', () => {
  it('matches key_value before key, wildcard values, and only at the last request entry', () => {
    const config = RateLimitConfig.fromYaml(CONFIG);
    assert.equal(config.getLimit('llm', [{ key: 'tenant', value: 'a' }, { key: 'model', value: 'gpt-4o' }])?.requestsPerUnit, 1000);
    assert.equal(config.getLimit('llm', [{ key: 'tenant', value: 'a' }, { key: 'model', value: 'gpt-4o-mini' }])?.requestsPerUnit, 50);
    assert.equal(config.getLimit('llm', [{ key: 'tenant', value: 'vip' }])?.requestsPerUnit, 5);
    // the request descriptor is deeper than the config: no limit
    assert.equal(config.getLimit('llm', [{ key: 'tenant', value: 'vip' }, { key: 'x', value: 'y' }]), undefined);
    // the config is deeper than the request descriptor: no limit at tenant level
    assert.equal(config.getLimit('llm', [{ key: 'tenant', value: 'a' }]), undefined);
    assert.equal(config.getLimit('llm', [{ key: 'plan', value: 'gold-eu' }])?.requestsPerUnit, 2);
    assert.equal(config.getLimit('llm', [{ key: 'plan', value: 'silver' }]), undefined);
    assert.equal(config.getLimit('other', [{ key: 'tenant', value: 'vip' }]), undefined);
  });

  it('rejects what the service rejects', () => {
    for (const [yaml, message] of [
      ['descriptors: []', /empty domain/],
      ['domain: d\ndescriptors: [{key: a, rate_limit: {unit: fortnight, requests_per_unit: 1}}]', /invalid rate limit unit/],
      ['domain: d\ndescriptors: [{key: a, rate_limit: {unlimited: true, unit: second}}]', /should not specify/],
      ['domain: d\ndescriptors: [{key: a}, {key: a}]', /duplicate descriptor composite key 'd.a'/],
      ['domain: d\ndescriptors: [{key: a, limit: 3}]', /unknown key 'limit'/],
      ['domain: d\ndescriptors: [{value: x}]', /empty key/],
    ] as const) {
      assert.throws(() => RateLimitConfig.fromYaml(yaml), (error: unknown) => error instanceof RateLimitConfigError && message.test(error.message), yaml);
    }
    assert.throws(() => RateLimitConfig.fromYaml(['domain: d', 'domain: d']), /duplicate domain/);
  });
});

describe('InProcessRateLimitService counting', () => {
  const vip = [{ key: 'tenant', value: 'vip' }];

  it('INCRBY then over limit only when the value after the increment is strictly greater than the limit', async () => {
    const time = clock(T0);
    const service = new InProcessRateLimitService({ config: CONFIG, now: time.now });
    const results: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      const response = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip }] });
      results.push(`${response.overallCode}:${response.statuses[0]?.limitRemaining}`);
    }
    assert.deepEqual(results, ['OK:4', 'OK:3', 'OK:2', 'OK:1', 'OK:0', 'OVER_LIMIT:0', 'OVER_LIMIT:0']);
    // over-limit calls are still counted (INCRBY happens first)
    assert.equal(service.used('llm', vip), 7);
  });

  it('hits: descriptor hits_addend (0 = check only), else max(1, request hits_addend)', async () => {
    const service = new InProcessRateLimitService({ config: CONFIG, now: clock(T0).now });
    await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 5 }] });
    assert.equal(service.used('llm', vip), 5);
    // exactly at the limit: a check-only call passes
    const check = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 0 }] });
    assert.equal(check.overallCode, 'OK');
    assert.equal(service.used('llm', vip), 5);
    await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip }], hitsAddend: 0 });
    assert.equal(service.used('llm', vip), 6, 'request hits_addend 0 counts as 1');
    await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip }], hitsAddend: 3 });
    assert.equal(service.used('llm', vip), 9);
    const over = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 0 }] });
    assert.equal(over.overallCode, 'OVER_LIMIT', 'a check-only call fails once used > limit');
  });

  it('fixed windows: floor(now/unit)*unit in the cache key; a new window starts from 0', async () => {
    const time = clock(T0);
    const service = new InProcessRateLimitService({ config: CONFIG, now: time.now, cacheKeyPrefix: 'rl_' });
    await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 6 }] });
    assert.deepEqual([...service.store.keys()], ['rl_llm_tenant_vip_1699999980']);
    time.set(1_700_000_039_999); // 1700000039 s: same minute window
    assert.equal((await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 0 }] })).overallCode, 'OVER_LIMIT');
    time.set(1_700_000_040_000); // next window
    const fresh = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: vip, hitsAddend: 1 }] });
    assert.equal(fresh.overallCode, 'OK');
    assert.equal(fresh.statuses[0]?.limitRemaining, 4);
    assert.equal(fresh.statuses[0]?.durationUntilReset, 60);
    assert.ok(service.store.has('rl_llm_tenant_vip_1700000040'));
  });

  it('keys carry every entry value; one descriptor over limit makes the whole answer OVER_LIMIT', async () => {
    const service = new InProcessRateLimitService({ config: CONFIG, now: clock(T0).now });
    const a = [{ key: 'tenant', value: 'a' }, { key: 'model', value: 'gpt-4o' }];
    const b = [{ key: 'tenant', value: 'b' }, { key: 'model', value: 'gpt-4o' }];
    await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: a, hitsAddend: 1000 }] });
    const both = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: b, hitsAddend: 10 }, { entries: a, hitsAddend: 1 }] });
    assert.equal(both.overallCode, 'OVER_LIMIT');
    assert.deepEqual(both.statuses.map((status) => status.code), ['OK', 'OVER_LIMIT']);
    assert.equal(service.used('llm', b), 10);
  });

  it('no limit, unlimited and shadow mode answer OK', async () => {
    const service = new InProcessRateLimitService({ config: CONFIG, now: clock(T0).now });
    const response = await service.shouldRateLimit({
      domain: 'llm',
      descriptors: [
        { entries: [{ key: 'nothing', value: 'x' }], hitsAddend: 99 },
        { entries: [{ key: 'free', value: 'x' }], hitsAddend: 99 },
        { entries: [{ key: 'shadow', value: 'x' }], hitsAddend: 99 },
      ],
    });
    assert.equal(response.overallCode, 'OK');
    assert.equal(response.statuses[0]?.currentLimit, undefined);
    assert.equal(response.statuses[1]?.currentLimit, undefined);
    assert.equal(response.statuses[2]?.currentLimit?.requestsPerUnit, 1);
    assert.equal(service.used('llm', [{ key: 'shadow', value: 'x' }]), 99, 'shadow mode still counts');
    assert.equal(service.store.size, 1);
  });

  it('rejects an empty domain or descriptor list', async () => {
    const service = new InProcessRateLimitService({ config: CONFIG });
    await assert.rejects(service.shouldRateLimit({ domain: '', descriptors: [{ entries: vip }] }), /domain must not be empty/);
    await assert.rejects(service.shouldRateLimit({ domain: 'llm', descriptors: [] }), /descriptor list must not be empty/);
  });

  it('STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT skips every increment when one descriptor would go over', async () => {
    const service = new InProcessRateLimitService({ config: CONFIG, now: clock(T0).now, stopCacheKeyIncrementWhenOverlimit: true });
    const a = [{ key: 'tenant', value: 'a' }, { key: 'model', value: 'gpt-4o' }];
    const response = await service.shouldRateLimit({ domain: 'llm', descriptors: [{ entries: a, hitsAddend: 10 }, { entries: vip, hitsAddend: 6 }] });
    assert.equal(response.overallCode, 'OVER_LIMIT');
    assert.equal(service.used('llm', a), 0);
    assert.equal(service.used('llm', vip), 0);
  });
});
