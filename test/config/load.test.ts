import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { VALIDATORS } from '../helpers/components.js';

const backend = (extra = '') => `{name: a, schema: OpenAI, endpoint: "http://127.0.0.1:8000"${extra}}`;

const rejected: Array<{ name: string; text: string; errors: string[] }> = [
  { name: 'unknown top-level key', text: 'backendz: []', errors: ['backendz: unknown key'] },
  { name: 'unknown backend key', text: `backends: [${backend(', colour: red')}]`, errors: ['backends[0].colour: unknown key'] },
  {
    name: 'unknown key in a model backend ref',
    text: `backends: [${backend()}]\nmodels: [{name: m, backends: [{backend: a, weigth: 2}]}]`,
    errors: ['models[0].backends[0].weigth: unknown key'],
  },
  {
    name: 'wrong types',
    text: `backends: [${backend(', streamOptions: "yes"')}]\nmodels: [{name: m, backends: [{backend: a, priority: high}]}]`,
    errors: [
      'backends[0].streamOptions: Expected boolean, received string',
      'models[0].backends[0].priority: Expected number, received string',
    ],
  },
  { name: 'a list where a map belongs', text: '- a\n- b', errors: ['(root): Expected object, received array'] },
  {
    name: 'unknown schema',
    text: 'backends: [{name: a, schema: OpenAi, endpoint: "http://x"}]',
    errors: [
      "backends[0].schema: Invalid enum value. Expected 'OpenAI' | 'AzureOpenAI' | 'Anthropic' | 'AWSBedrock' | 'AWSAnthropic' | 'GCPVertexAI' | 'GCPAnthropic' | 'GoogleAI', received 'OpenAi'",
    ],
  },
  {
    name: 'endpoint with a path',
    text: 'backends: [{name: a, schema: OpenAI, endpoint: "https://api.openai.com/v1"}]',
    errors: ['backends[0].endpoint: must be scheme://host[:port] with no path, got "https://api.openai.com/v1"'],
  },
  {
    name: 'endpoint that is not a URL (port out of range)',
    text: 'backends: [{name: a, schema: OpenAI, endpoint: "http://a:99999"}]',
    errors: ['backends[0].endpoint: not a valid URL'],
  },
  {
    name: 'duplicate backend names',
    text: `backends: [${backend()}, {name: a, schema: OpenAI, endpoint: "http://127.0.0.1:8001"}]`,
    errors: ['backends[1].name: duplicate backend name "a"'],
  },
  {
    name: 'duplicate model names',
    text: `backends: [${backend()}]\nmodels: [{name: m, backends: [{backend: a}]}, {name: m, backends: [{backend: a}]}]`,
    errors: ['models[1].name: duplicate model name "m"'],
  },
  {
    name: 'a model naming an unknown backend',
    text: `backends: [${backend()}]\nmodels: [{name: m, backends: [{backend: a}, {backend: b, priority: 1}]}]`,
    errors: ['models[0].backends[1].backend: unknown backend "b"'],
  },
  {
    name: 'a secret from an unset environment variable',
    text: `backends: [${backend(', auth: {apiKey: {env: LLM_EXTPROC_TEST_UNSET}}')}]`,
    errors: ['backends[0].auth.apiKey: environment variable LLM_EXTPROC_TEST_UNSET is not set'],
  },
  {
    name: 'a secret from an empty environment variable',
    text: `backends: [${backend(', auth: {apiKey: {env: EMPTY}}')}]`,
    errors: ['backends[0].auth.apiKey: environment variable EMPTY is not set'],
  },
  {
    name: 'a secret from a missing file',
    text: `backends: [${backend(', auth: {apiKey: {file: /nonexistent/llm-extproc/key}}')}]`,
    errors: ['backends[0].auth.apiKey: cannot read secret file /nonexistent/llm-extproc/key: ENOENT'],
  },
  {
    name: 'a secret of the wrong shape',
    text: `backends: [${backend(', auth: {apiKey: "sk-inline"}')}]`,
    errors: [
      'backends[0].auth.apiKey: must be one of {env: NAME} | {file: PATH} | {value: "..."} (Expected object, received string)',
    ],
  },
  {
    name: 'YAML syntax error',
    text: 'backends:\n  - name: a\n   schema: OpenAI',
    errors: ['test.yaml: YAML: Sequence item without - indicator at line 3, column 1'],
  },
  {
    name: 'YAML duplicate key',
    text: 'envoy: {upstreamFilter: true}\nenvoy: {upstreamFilter: false}',
    errors: ['test.yaml: YAML: Map keys must be unique at line 2, column 1'],
  },
];

describe('parseConfig rejects with a precise message', () => {
  for (const { name, text, errors } of rejected) {
    it(name, async () => {
      const result = await parseConfig(text, 'test.yaml', { EMPTY: '' }, VALIDATORS);
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.deepEqual(result.errors, errors);
    });
  }

  it('reports every problem at once', async () => {
    const text = [
      `backends: [${backend(', auth: {apiKey: {env: UNSET_ONE}}')}, ${backend()}]`,
      'models: [{name: m, backends: [{backend: ghost}]}]',
    ].join('\n');
    const result = await parseConfig(text, 'test.yaml', {}, VALIDATORS);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      'backends[0].auth.apiKey: environment variable UNSET_ONE is not set',
      'backends[1].name: duplicate backend name "a"',
      'models[0].backends[0].backend: unknown backend "ghost"',
    ]);
  });
});

describe('parseConfig accepts', () => {
  it('an optional environment secret that is unset, as an empty credential', async () => {
    const result = await parseConfig(`backends: [${backend(', auth: {apiKey: {env: UNSET_KEY, optional: true}}')}]`, 'test.yaml', {}, VALIDATORS);
    assert.ok(result.ok);
    assert.equal(result.config.backends.get('a')?.credentials?.apiKey?.value, '');
  });

  it('an optional environment secret that is set, with its value', async () => {
    const result = await parseConfig(`backends: [${backend(', auth: {apiKey: {env: SET_KEY, optional: true}}')}]`, 'test.yaml', {
      SET_KEY: 'sk-test',
    }, VALIDATORS);
    assert.ok(result.ok);
    assert.equal(result.config.backends.get('a')?.credentials?.apiKey?.value, 'sk-test');
  });

  it('a secret file, trimmed, that never serialises its value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-secret-'));
    try {
      await writeFile(join(dir, 'key'), 'sk-from-file\n');
      const result = await parseConfig(`backends: [${backend(`, auth: {apiKey: {file: "${join(dir, 'key')}"}}`)}]`, 'test.yaml', {}, VALIDATORS);
      assert.ok(result.ok);
      const credentials = result.config.backends.get('a')?.credentials;
      assert.equal(credentials?.apiKey?.value, 'sk-from-file');
      assert.ok(!JSON.stringify(credentials).includes('sk-from-file'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('defaults for omitted fields', async () => {
    const result = await parseConfig(`backends: [${backend()}]\nmodels: [{name: m, backends: [{backend: a}]}]`, 'test.yaml', {}, VALIDATORS);
    assert.ok(result.ok);
    assert.equal(result.config.backends.get('a')?.prefix, '/v1');
    assert.deepEqual(result.config.models.get('m')?.backends, [{ backend: 'a', priority: 0, weight: 1 }]);
    assert.equal(result.config.file.envoy.upstreamFilter, true);
    assert.equal(result.config.file.limits.maxRequestBodyBytes, 32 * 1024 * 1024);
  });

  it('limits: every cap has a safe default, each can be set alone, and nonsense is refused', async () => {
    const base = `backends: [${backend()}]\nmodels: [{name: m, backends: [{backend: a}], maxOutputTokens: 8192}]`;
    const defaults = await parseConfig(base, 'test.yaml', {}, VALIDATORS);
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.config.file.limits, {
      maxRequestBodyBytes: 32 * 1024 * 1024,
      maxResponseBodyBytes: 32 * 1024 * 1024,
      maxDecompressedBodyBytes: 64 * 1024 * 1024,
      maxStreamEventBytes: 4 * 1024 * 1024,
      maxMessages: 100_000,
      maxTools: 1024,
      maxContentParts: 100_000,
      maxOutputTokens: 1_000_000,
      maxTokenCount: 1_000_000_000,
    });
    assert.equal(defaults.config.models.get('m')?.maxOutputTokens, 8192);
    const one = await parseConfig(`${base}\nlimits: { maxStreamEventBytes: 1024 }`, 'test.yaml', {}, VALIDATORS);
    assert.ok(one.ok);
    assert.equal(one.config.file.limits.maxStreamEventBytes, 1024);
    assert.equal(one.config.file.limits.maxTokenCount, 1_000_000_000);
    const bad = await parseConfig(`${base}\nlimits: { maxTokenCount: -1, maxTools: 1.5, maxMessagez: 3 }`, 'test.yaml', {}, VALIDATORS);
    assert.ok(!bad.ok);
    assert.equal(bad.errors.length, 3, bad.errors.join('\n'));
    assert.ok(bad.errors.some((error) => error.startsWith('limits.maxTokenCount:')));
    assert.ok(bad.errors.some((error) => error.startsWith('limits.maxTools:')));
    assert.ok(bad.errors.includes('limits.maxMessagez: unknown key'));
  });
});

describe('loadConfigFile', () => {
  it('reports an unreadable file with its path', async () => {
    const result = await loadConfigFile('/nonexistent/llm-extproc.yaml', {}, VALIDATORS);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      '/nonexistent/llm-extproc.yaml: cannot read config (ENOENT: no such file); give an existing file with --config FILE or LLM_EXTPROC_CONFIG (config/default.yaml is a starting point)',
    ]);
  });
});
