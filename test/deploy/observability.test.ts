/**
 * The Grafana dashboard and the Prometheus alert rules under envoy/observability/: every rule has its runbook,
 * every expression parses as PromQL (with Prometheus's own lezer grammar), and every metric they read is in the
 * service's /metrics after traffic (streamed, failed, fallen back, a rejected and an accepted config reload). The
 * metrics that are not the service's own are Prometheus's `up` and Envoy's stats, listed here by name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock } from '../mocks/http-mock.js';

const DIR = join(REPO_ROOT, 'envoy/observability');
/** Envoy stats (Prometheus form) the rules read: the rate-limit filter's and the ratelimit cluster's. */
const ENVOY_METRICS = new Set(['envoy_cluster_ratelimit_error', 'envoy_cluster_upstream_cx_connect_fail']);
/** Series Prometheus makes itself. */
const PROMETHEUS_METRICS = new Set(['up']);

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parse(readFileSync(join(DIR, 'prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((group) => group.rules);

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string }>;
}
const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana/llm-extproc-dashboard.json'), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: Array<{ definition?: string }> } };

/** Grafana's variables, replaced by values PromQL accepts. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replace(/\$[a-z_]+/g, 'x');
}

/** Parses PromQL; returns the metric names of its vector selectors, or throws naming the first syntax error. */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${expr}`);
    if (cursor.name === 'VectorSelector') {
      const selector = cursor.node.getChild('Identifier');
      if (selector) names.push(expr.slice(selector.from, selector.to));
    }
  } while (cursor.next());
  assert.ok(names.length > 0, `no metric in: ${expr}`);
  return names;
}

const ruleExpressions = rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr ?? '' }));
const dashboardExpressions = [
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: withoutGrafanaVariables(target.expr ?? '') }))),
  ...dashboard.templating.list.map((variable) => ({ where: 'a dashboard variable', expr: /label_values\((\w+),/.exec(variable.definition ?? '')?.[1] ?? '' })),
];

describe('alert rules', () => {
  it('each has a name, an expression, a duration, a severity, a summary and a runbook', () => {
    assert.ok(rules.length >= 6);
    const names = rules.map((rule) => rule.alert);
    assert.equal(new Set(names).size, names.length, 'unique names');
    for (const rule of rules) {
      assert.match(rule.alert ?? '', /^[A-Z][A-Za-z]+$/);
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`);
      assert.ok(['page', 'warn'].includes(rule.labels?.['severity'] ?? ''), `${rule.alert}: severity`);
      assert.ok((rule.annotations?.['summary'] ?? '').length > 10, `${rule.alert}: summary`);
      assert.ok((rule.annotations?.['runbook'] ?? '').length > 100, `${rule.alert}: runbook`);
    }
  });

  it('cover what the issue asks: error ratio, time to first token, config reloads, event-loop lag, the rate-limit service', () => {
    const reads = (name: string) => rules.some((rule) => (rule.expr ?? '').includes(name));
    for (const metric of ['gen_ai_server_request_duration_seconds_count', 'gen_ai_server_time_to_first_token_seconds_bucket', 'llm_extproc_config_last_reload_successful', 'nodejs_eventloop_lag_p99_seconds', 'envoy_cluster_ratelimit_error']) {
      assert.ok(reads(metric), metric);
    }
  });

  it('every expression parses as PromQL, and a broken one does not', () => {
    for (const { where, expr } of ruleExpressions) assert.doesNotThrow(() => metricNames(expr), where);
    assert.throws(() => metricNames('sum(rate(gen_ai_server_request_duration_seconds_count[5m])'), /syntax error/);
  });
});

describe('Grafana dashboard', () => {
  it('has the panels an operator opens first', () => {
    assert.equal(dashboard.uid, 'llm-extproc');
    const titles = dashboard.panels.map((panel) => panel.title ?? '').join('\n');
    for (const needed of ['by model', 'by provider', 'Token throughput', 'Time to first token', 'Time per output token', 'Active ext_proc streams', 'Fallbacks', 'Config reloads', 'CPU', 'Event-loop lag', 'GC']) {
      assert.ok(titles.includes(needed), needed);
    }
  });

  it('every query parses as PromQL', () => {
    for (const { where, expr } of dashboardExpressions) assert.doesNotThrow(() => metricNames(expr), where);
  });
});

/**
 * The exposition once a garbage collection has been observed (nodejs_gc_duration_seconds has samples only then):
 * a collection is forced, and prom-client's performance observer reports it asynchronously, with no event to
 * wait for, so the exposition is read again, a bounded number of times.
 */
async function afterGarbageCollection(gateway: Gateway): Promise<string> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const text = await gateway.metrics.metrics();
    if (/^nodejs_gc_duration_seconds_sum\{/m.test(text)) return text;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return gateway.metrics.metrics();
}

describe('every metric the dashboard and the alerts read exists in /metrics after traffic', { timeout: 60_000 }, () => {
  let main: HttpMock;
  let broken: HttpMock;
  let gateway: Gateway;
  const CONFIG = `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-dash } } }
  - { name: broken, schema: OpenAI, endpoint: https://broken.example.com, auth: { apiKey: { value: sk-dash } } }
models:
  - { name: gpt-test, backends: [{ backend: main }] }
  - name: smart
    backends:
      - { backend: broken, priority: 0 }
      - { backend: main, priority: 1 }
`;

  before(async () => {
    const usage = { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 };
    main = await startHttpMock((request) =>
      request.text().includes('"stream":true')
        ? { kind: 'sse', chunks: ['a', 'b', 'c'].map((text) => sseEvent({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })).concat([sseEvent({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [], usage }), 'data: [DONE]\n\n']) }
        : { kind: 'json', body: { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage } },
    );
    broken = await startHttpMock({ kind: 'json', status: 503, body: { error: { message: 'down' } } });
    gateway = await startGateway({ configYaml: CONFIG, upstreams: { main: main.url, broken: broken.url } });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([main.close(), broken.close()]);
  });

  async function post(body: Record<string, unknown>): Promise<number> {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.text();
    return response.status;
  }

  it('after streamed, failed and fallen-back requests and two reloads (one rejected)', { timeout: 60_000 }, async () => {
    assert.equal(await post({ model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }), 200);
    assert.equal(await post({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }), 200);
    assert.equal(await post({ model: 'unknown', messages: [] }), 404);
    await writeFile(gateway.server.configPath, 'models: [{ name: broken }]\n');
    await gateway.server.service.configStore.reload();
    await writeFile(gateway.server.configPath, `${CONFIG}\n# touched\n`);
    await gateway.server.service.configStore.reload();
    await gateway.envoy.settled();
    const exposition = await afterGarbageCollection(gateway);
    const exposed = new Set(exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(/[{ ]/)[0]));
    const missing: string[] = [];
    for (const { where, expr } of [...ruleExpressions, ...dashboardExpressions]) {
      for (const name of metricNames(expr)) {
        if (ENVOY_METRICS.has(name) || PROMETHEUS_METRICS.has(name)) continue;
        if (!exposed.has(name)) missing.push(`${name} (${where})`);
      }
    }
    assert.deepEqual(missing, []);
    const external = [...ruleExpressions, ...dashboardExpressions].flatMap(({ expr }) => metricNames(expr)).filter((name) => !exposed.has(name));
    assert.deepEqual([...new Set(external)].sort(), [...ENVOY_METRICS, ...PROMETHEUS_METRICS].sort(), 'the only metrics read from elsewhere are the listed ones');
  });
});
