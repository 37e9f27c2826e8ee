/**
 * The service's own health in /metrics (process metrics, build info, the config being served and its last reload),
 * request headers as bounded metric labels, and the optional completion log line, which carries no content and no
 * credential.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { configHash } from '../../src/config/store.js';
import { createLogger } from '../../src/logging.js';
import { GatewayMetrics, OTHER } from '../../src/metrics/metrics.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';

const TIMEOUT = 60_000;
const BACKEND_KEY = 'sk-backend-metrics-9090';
const CLIENT_KEY = 'sk-client-metrics-1212';

function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

const LABELS = { operationName: 'chat', providerName: 'openai', requestModel: '', responseModel: '' };

describe('GatewayMetrics: process, build and config metrics', () => {
  it('has prom-client default process metrics once asked, on its own registry only', async () => {
    const metrics = new GatewayMetrics();
    assert.equal(samples(await metrics.metrics(), 'process_cpu_user_seconds_total').length, 0, 'none before');
    metrics.collectProcessMetrics();
    metrics.collectProcessMetrics();
    const text = await metrics.metrics();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.equal(samples(text, name).length, 1, name);
    }
    assert.equal(samples(await new GatewayMetrics().metrics(), 'process_cpu_user_seconds_total').length, 0, 'another registry has none');
  });

  it('says which version runs, and which config since when', async () => {
    const metrics = new GatewayMetrics();
    metrics.setBuildInfo('1.2.3', 'v20.19.0');
    metrics.recordConfigLoaded('abcdef012345', new Date(1_700_000_000_000));
    let text = await metrics.metrics();
    assert.deepEqual(samples(text, 'llm_extproc_build_info'), ['llm_extproc_build_info{version="1.2.3",node_version="v20.19.0"} 1']);
    assert.deepEqual(samples(text, 'llm_extproc_config_info'), ['llm_extproc_config_info{hash="abcdef012345"} 1']);
    assert.deepEqual(samples(text, 'llm_extproc_config_last_reload_success_timestamp_seconds'), ['llm_extproc_config_last_reload_success_timestamp_seconds 1700000000']);
    assert.deepEqual(samples(text, 'llm_extproc_config_last_reload_successful'), ['llm_extproc_config_last_reload_successful 1']);
    metrics.recordConfigReload('failure');
    text = await metrics.metrics();
    assert.deepEqual(samples(text, 'llm_extproc_config_last_reload_successful'), ['llm_extproc_config_last_reload_successful 0']);
    assert.deepEqual(samples(text, 'llm_extproc_config_info'), ['llm_extproc_config_info{hash="abcdef012345"} 1'], 'the old config still serves');
    metrics.recordConfigLoaded('999999999999');
    assert.deepEqual(samples(await metrics.metrics(), 'llm_extproc_config_info'), ['llm_extproc_config_info{hash="999999999999"} 1'], 'one hash at a time');
  });

  it('bounds request-header label values: first maxValues, then "other"; absent is ""', async () => {
    const metrics = new GatewayMetrics();
    metrics.setHeaderLabels([{ header: 'X-Tenant-Id', name: 'tenant', maxValues: 2 }]);
    for (const tenant of ['a', 'b', 'c', 'a', 'd']) metrics.recordRequest({ ...LABELS, headers: new Map([['x-tenant-id', tenant]]) }, 0.1);
    metrics.recordRequest({ ...LABELS, headers: new Map() }, 0.1);
    const counts = samples(await metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
    const byTenant = Object.fromEntries(counts.map((line) => [/tenant="([^"]*)"/.exec(line)?.[1], Number(line.split(' ').at(-1))]));
    assert.deepEqual(byTenant, { a: 2, b: 1, [OTHER]: 2, '': 1 });
  });

  it('a different set of header labels rebuilds the GenAI histograms; the same set keeps them', async () => {
    const metrics = new GatewayMetrics();
    metrics.recordRequest(LABELS, 0.1);
    metrics.setHeaderLabels([{ header: 'x-team', name: 'team', maxValues: 5 }]);
    let counts = samples(await metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
    assert.equal(counts.length, 0, 'rebuilt empty');
    metrics.recordRequest({ ...LABELS, headers: new Map([['x-team', 'ml']]) }, 0.1);
    metrics.setHeaderLabels([{ header: 'x-team', name: 'team', maxValues: 10 }]);
    counts = samples(await metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
    assert.equal(counts.length, 1);
    assert.match(counts[0] ?? '', /team="ml"/);
  });
});

describe('request headers as labels, and the completion log line, end to end', { timeout: TIMEOUT }, () => {
  let mock: HttpMock;
  let gateway: Gateway;
  const lines: string[] = [];
  const configYaml = (completionLog: boolean) => `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: ${BACKEND_KEY} } } }
models:
  - { name: gpt-test, backends: [{ backend: main }] }
observability:
  completionLog: ${completionLog}
  requestHeaders:
    - { header: x-tenant-id, name: tenant, maxValues: 3 }
`;

  before(async () => {
    mock = await startHttpMock({
      kind: 'json',
      body: { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'secret answer text' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } },
    });
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    gateway = await startGateway({ configYaml: configYaml(true), upstreams: { main: mock.url }, logger });
  });
  after(async () => {
    await gateway.close();
    await mock.close();
  });

  async function chat(tenant: string): Promise<void> {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, 'x-tenant-id': tenant },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'the prompt text' }] }),
    });
    assert.equal(response.status, 200);
    await response.text();
    await gateway.envoy.settled();
  }

  it('labels the GenAI metrics with the tenant, and logs each completed request without content or keys', { timeout: TIMEOUT }, async () => {
    await chat('acme');
    await chat('globex');
    const text = await gateway.metrics.metrics();
    const tenants = samples(text, 'gen_ai_server_request_duration_seconds_count').map((line) => /tenant="([^"]*)"/.exec(line)?.[1]);
    assert.deepEqual(tenants.sort(), ['acme', 'globex']);
    assert.ok(samples(text, 'gen_ai_client_token_usage_count').every((line) => /tenant="(acme|globex)"/.test(line)));
    const completed = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request completed');
    assert.equal(completed.length, 2);
    const [first] = completed as [Record<string, unknown>];
    assert.equal(first['level'], 30, 'info');
    assert.equal(first['model'], 'gpt-test');
    assert.equal(first['backend'], 'main');
    assert.equal(first['status'], 200);
    assert.equal(first['inputTokens'], 7);
    assert.equal(first['outputTokens'], 3);
    assert.equal(typeof first['durationMs'], 'number');
    assert.equal(typeof first['requestId'], 'string');
    const log = lines.join('\n');
    for (const forbidden of [BACKEND_KEY, CLIENT_KEY, 'the prompt text', 'secret answer text']) assert.ok(!log.includes(forbidden), `the log holds ${forbidden}`);
  });

  it('reports the config being served, and a reload under a new hash', { timeout: TIMEOUT }, async () => {
    const before = await gateway.metrics.metrics();
    const loaded = Number(samples(before, 'llm_extproc_config_last_reload_success_timestamp_seconds')[0]?.split(' ')[1]);
    assert.ok(loaded > 1_600_000_000);
    const text = configYaml(false);
    await writeFile(gateway.server.configPath, text);
    await gateway.server.service.configStore.reload();
    const after = await gateway.metrics.metrics();
    assert.deepEqual(samples(after, 'llm_extproc_config_info'), [`llm_extproc_config_info{hash="${configHash(text)}"} 1`]);
    await chat('acme');
    assert.equal(lines.filter((line) => line.includes('"request completed"')).length, 2, 'completion log off after the reload');
  });
});
