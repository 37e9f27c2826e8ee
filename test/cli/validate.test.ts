/** `llm-extproc validate` in-process (main(argv, io)): no models is an error unless allowed, and every error is reported at once. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NO_MODELS_ERROR } from '../../src/cli/validate.js';
import { createComponents, type Components } from '../../src/components.js';
import { main } from '../../src/main.js';
import { withoutChatTranslator } from '../helpers/translator-table.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPTIONS = { timeout: 30_000 };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function validate(args: string[], env: NodeJS.ProcessEnv = {}, components: Components = createComponents()): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text), env };
  const code = await main(['validate', ...args], io, components);
  return { code, stdout, stderr };
}

/** The error lines after the "<path>: N errors" header. */
function errorLines(run: Run): string[] {
  return run.stderr.trim().split('\n').slice(1).map((line) => line.trim());
}

/** A temporary directory for one describe block (made before its tests, removed after) and a config writer into it. */
function temporaryDirectory(prefix: string): { path(name: string): string; configFile(name: string, lines: string[]): Promise<string> } {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    path: (name) => join(dir, name),
    async configFile(name, lines) {
      const path = join(dir, name);
      await writeFile(path, lines.join('\n'));
      return path;
    },
  };
}

const BACKEND = 'backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2" }]';
const MODEL = 'models: [{ name: m, backends: [{ backend: b }] }]';

describe('llm-extproc validate: models', OPTIONS, () => {
  const temp = temporaryDirectory('llm-extproc-validate-');

  it('rejects an empty file, no models key and an empty models list; --allow-no-models accepts them', OPTIONS, async () => {
    const paths = [
      await temp.configFile('empty.yaml', []),
      await temp.configFile('no-models-key.yaml', [BACKEND]),
      await temp.configFile('empty-models.yaml', [BACKEND, 'models: []']),
    ];
    for (const path of paths) {
      const run = await validate(['--config', path]);
      assert.deepEqual(run, { code: 1, stdout: '', stderr: `${path}: 1 error\n  ${NO_MODELS_ERROR}\n` }, path);
      assert.deepEqual(await validate(['--config', path, '--allow-no-models']), { code: 0, stdout: `${path}: ok\n`, stderr: '' }, `${path} with --allow-no-models`);
    }
    const bare = await temp.configFile('null-models.yaml', [BACKEND, 'models:']);
    assert.deepEqual(errorLines(await validate(['--config', bare])), ['models: Expected array, received null'], 'a bare models: is the schema error alone');
  });

  it('reports every other error in the same pass', OPTIONS, async () => {
    const crossReference = await temp.configFile('cross-reference.yaml', [
      'backends:',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET } } }',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:3" }',
    ]);
    const run = await validate(['--config', crossReference]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /: 3 errors\n/);
    assert.deepEqual(errorLines(run), [
      'backends[0].auth.apiKey: environment variable LLM_EXTPROC_UNSET is not set',
      'backends[1].name: duplicate backend name "b"',
      NO_MODELS_ERROR,
    ]);
    const allowed = await validate(['--config', crossReference, '--allow-no-models']);
    assert.equal(allowed.code, 1);
    assert.equal(errorLines(allowed).length, 2, 'the other errors stay errors');

    const schemaError = await temp.configFile('schema-error.yaml', ['backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", colour: red }]']);
    assert.deepEqual(errorLines(await validate(['--config', schemaError])), ['backends[0].colour: unknown key', NO_MODELS_ERROR]);
  });

  it('does not guess about models when the YAML itself is broken or the file is missing', OPTIONS, async () => {
    const broken = await temp.configFile('broken.yaml', ['backends: [', 'models:']);
    const run = await validate(['--config', broken]);
    assert.equal(run.code, 1);
    assert.ok(errorLines(run).every((line) => line !== NO_MODELS_ERROR), run.stderr);
    const missing = await validate(['--config', temp.path('absent.yaml')]);
    assert.equal(missing.code, 1);
    assert.deepEqual(errorLines(missing).length, 1, missing.stderr);
    assert.match(missing.stderr, /absent\.yaml: cannot read config \(ENOENT: no such file\); give an existing file with --config FILE or LLM_EXTPROC_CONFIG/);
  });

  it('rejects a backend whose schema has no chat translator in the table, together with the rest', OPTIONS, async () => {
    const shipped = createComponents();
    const components: Components = { ...shipped, translators: withoutChatTranslator(shipped.translators, 'GoogleAI') };
    const withModel = await temp.configFile('google.yaml', [
      'backends:',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2" }',
      '  - { name: g, schema: GoogleAI, endpoint: "http://127.0.0.1:3" }',
      MODEL,
    ]);
    const run = await validate(['--config', withModel], {}, components);
    assert.equal(run.code, 1);
    assert.deepEqual(errorLines(run), ['backend g: no translator serves schema GoogleAI']);
    assert.deepEqual(await validate(['--config', withModel]), { code: 0, stdout: `${withModel}: ok\n`, stderr: '' }, 'the shipped table serves it');

    const noModels = await temp.configFile('google-no-models.yaml', ['backends: [{ name: g, schema: GoogleAI, endpoint: "http://127.0.0.1:3" }]']);
    assert.deepEqual(errorLines(await validate(['--config', noModels], {}, components)), ['backend g: no translator serves schema GoogleAI', NO_MODELS_ERROR]);
  });

  it('accepts a config with a model', OPTIONS, async () => {
    const path = await temp.configFile('ok.yaml', [BACKEND, MODEL]);
    assert.deepEqual(await validate(['--config', path]), { code: 0, stdout: `${path}: ok\n`, stderr: '' });
  });

  it('accepts envoy.attemptResponseHeaders with a note that it needs Envoy 1.37, and refuses it in router-only mode', OPTIONS, async () => {
    const path = await temp.configFile('attempt-headers.yaml', [BACKEND, MODEL, 'envoy: { attemptResponseHeaders: true }']);
    const run = await validate(['--config', path]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^.*: ok\n  note: envoy\.attemptResponseHeaders needs Envoy >= 1\.37: on 1\.36 .* breaks retries on 5xx\n$/);
    const routerOnly = await temp.configFile('attempt-headers-router.yaml', [BACKEND, MODEL, 'envoy: { upstreamFilter: false, attemptResponseHeaders: true }']);
    assert.deepEqual(errorLines(await validate(['--config', routerOnly])), [
      'envoy.attemptResponseHeaders: needs envoy.upstreamFilter: true (router-only mode has no per-attempt filter)',
    ]);
  });

  it('shows --allow-no-models in its usage', OPTIONS, async () => {
    const help = await validate(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /llm-extproc validate \[--config FILE\] \[--skip-secrets\] \[--allow-no-models\] \[--envoy-config FILE\]/);
  });
});

describe('llm-extproc validate: shipped configs', OPTIONS, () => {
  const temp = temporaryDirectory('llm-extproc-validate-shipped-');

  /**
   * The config's path, or a copy whose `{file: PATH}` secrets and `credentialsFile`s point at temporary files; env
   * secrets get dummies.
   */
  async function prepared(relative: string): Promise<{ path: string; env: NodeJS.ProcessEnv }> {
    const text = await readFile(join(ROOT, relative), 'utf8');
    const env = Object.fromEntries([...text.matchAll(/\{\s*env:\s*([A-Za-z0-9_]+)/g)].map((match) => [match[1], 'dummy']));
    const files = [...new Set([...text.matchAll(/\{\s*file:\s*([^\s,}]+)/g)].map((match) => match[1] ?? ''))];
    const credentials = [...new Set([...text.matchAll(/^\s*credentialsFile:\s*(\S+)/gm)].map((match) => match[1] ?? ''))];
    if (files.length === 0 && credentials.length === 0) return { path: join(ROOT, relative), env };
    const secret = temp.path('secret');
    await writeFile(secret, 'dummy-token\n');
    const credentialsFile = temp.path('credentials.json');
    await writeFile(credentialsFile, '{"type":"service_account"}\n');
    const path = temp.path(relative.replace(/\//g, '_'));
    let copy = files.reduce((current, file) => current.split(file).join(secret), text);
    copy = credentials.reduce((current, file) => current.split(file).join(credentialsFile), copy);
    await writeFile(path, copy);
    return { path, env };
  }

  it('every config/*.yaml and config/examples/*.yaml validates', OPTIONS, async () => {
    const configs = [
      ...(await readdir(join(ROOT, 'config'))).filter((name) => name.endsWith('.yaml')).map((name) => `config/${name}`),
      ...(await readdir(join(ROOT, 'config/examples'))).filter((name) => name.endsWith('.yaml')).map((name) => `config/examples/${name}`),
    ];
    assert.ok(configs.length > 5, configs.join(', '));
    for (const config of configs) {
      const { path, env } = await prepared(config);
      assert.deepEqual(await validate(['--config', path], env), { code: 0, stdout: `${path}: ok\n`, stderr: '' }, config);
    }
  });
});

describe('llm-extproc validate: every error at once, in words', OPTIONS, () => {
  const temp = temporaryDirectory('llm-extproc-validate-all-');

  it('a schema error does not hide duplicate names, unknown references, secrets or CEL errors', OPTIONS, async () => {
    const path = await temp.configFile('mixed.yaml', [
      'backends:',
      '  - { name: b, schema: OpenAi, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET } } }',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:3" }',
      'models:',
      '  - { name: m, backends: [{ backend: b }] }',
      '  - { name: m, backends: [{ backend: ghost, priority: high }] }',
      'costs:',
      '  - { metadataKey: k, type: CEL, cel: "input_tokens +" }',
      'envoy: { messageTimeout: 30 }',
    ]);
    const run = await validate(['--config', path]);
    assert.equal(run.code, 1);
    const lines = errorLines(run);
    assert.deepEqual(lines.slice(0, -1), [
      "backends[0].schema: Invalid enum value. Expected 'OpenAI' | 'AzureOpenAI' | 'Anthropic' | 'AWSBedrock' | 'AWSAnthropic' | 'GCPVertexAI' | 'GCPAnthropic' | 'GoogleAI', received 'OpenAi'",
      'models[1].backends[0].priority: Expected number, received string',
      'envoy.messageTimeout: expected a duration in seconds such as "30s" or "0.5s", got 30',
      'backends[0].auth.apiKey: environment variable LLM_EXTPROC_UNSET is not set',
      'backends[1].name: duplicate backend name "b"',
      'models[1].name: duplicate model name "m"',
      'models[1].backends[0].backend: unknown backend "ghost"',
    ]);
    assert.match(lines.at(-1) ?? '', /^costs\[0\]\.cel: invalid CEL expression for "k": /, 'the CEL validator ran on the costs section');
    assert.match(run.stderr, /: 8 errors\n/);
  });

  it('says what a valid value looks like, and never shows a value from auth or headers', OPTIONS, async () => {
    const path = await temp.configFile('values.yaml', [
      'backends:',
      '  - name: b',
      '    schema: OpenAI',
      '    endpoint: "https://api.openai.com/v1"',
      '    auth: { apiKey: { value: 12345678 } }',
      '    headers: { set: { "bad header": sk-live-secret } }',
      'models: [{ name: m, backends: [{ backend: b, weight: -1 }] }]',
      'envoy: { messageTimeout: "5s", perTryTimeout: 10m }',
    ]);
    const lines = errorLines(await validate(['--config', path]));
    assert.ok(lines.includes('backends[0].endpoint: must be scheme://host[:port] with no path, got "https://api.openai.com/v1"'), lines.join('\n'));
    assert.ok(lines.includes('models[0].backends[0].weight: Number must be greater than or equal to 0, got -1'), lines.join('\n'));
    assert.ok(lines.includes('envoy.messageTimeout: must be at least 10s, got "5s"'), lines.join('\n'));
    assert.ok(lines.includes('envoy.perTryTimeout: expected a duration in seconds such as "30s" or "0.5s", got "10m"'), lines.join('\n'));
    const fromAuth = lines.filter((line) => line.startsWith('backends[0].auth') || line.startsWith('backends[0].headers'));
    assert.equal(fromAuth.length, 2, lines.join('\n'));
    for (const line of fromAuth) assert.doesNotMatch(line, /12345678|sk-live-secret/);
  });

  it('checks that a GCP credentials file exists and holds JSON, with the rest', OPTIONS, async () => {
    const gcp = (file: string) => [
      `backends: [{ name: v, schema: GCPVertexAI, endpoint: "https://us-central1-aiplatform.googleapis.com", auth: { gcp: { projectId: p, region: us-central1, credentialsFile: "${file}" } } }]`,
      MODEL.replace('backend: b', 'backend: v'),
    ];
    const missing = temp.path('absent.json');
    const run = await validate(['--config', await temp.configFile('gcp-missing.yaml', [...gcp(missing), 'envoy: { listenPort: 0 }'])]);
    assert.deepEqual(errorLines(run), [
      'envoy.listenPort: Number must be greater than or equal to 1, got 0',
      `backends[0].auth.gcp.credentialsFile: cannot read credentials file ${missing} (ENOENT: no such file)`,
    ]);
    const notJson = temp.path('not-json.json');
    await writeFile(notJson, 'not json');
    assert.deepEqual(errorLines(await validate(['--config', await temp.configFile('gcp-not-json.yaml', gcp(notJson))])), [
      `backends[0].auth.gcp.credentialsFile: ${notJson} is not a JSON credentials file (a service-account key or an external-account config)`,
    ]);
    const good = temp.path('key.json');
    await writeFile(good, '{"type":"service_account"}');
    const goodPath = await temp.configFile('gcp-good.yaml', gcp(good));
    assert.deepEqual(await validate(['--config', goodPath]), { code: 0, stdout: `${goodPath}: ok\n`, stderr: '' });
  });

  it('--skip-secrets checks everything but the secrets and the files they name', OPTIONS, async () => {
    const azure = join(ROOT, 'config/examples/azure-openai.yaml');
    const without = await validate(['--config', azure]);
    assert.equal(without.code, 1, 'without its secrets the example does not validate');
    assert.match(without.stderr, /AZURE_OPENAI_API_KEY/);
    assert.match(without.stderr, /openai-token/);
    assert.deepEqual(await validate(['--config', azure, '--skip-secrets']), { code: 0, stdout: `${azure}: ok (secrets not checked)\n`, stderr: '' });
    const gcp = join(ROOT, 'config/examples/gcp-vertex-gemini.yaml');
    assert.equal((await validate(['--config', gcp])).code, 1, 'the credentials file is missing here');
    assert.equal((await validate(['--config', gcp, '--skip-secrets'])).code, 0);

    const broken = await temp.configFile('skip-broken.yaml', [
      'backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET }, anthropicApiKey: { file: /nonexistent } } }]',
      'models: [{ name: m, backends: [{ backend: ghost }] }]',
    ]);
    assert.deepEqual(errorLines(await validate(['--config', broken, '--skip-secrets'])), [
      'backends[0].auth: at most one auth method, got apiKey, anthropicApiKey',
      'models[0].backends[0].backend: unknown backend "ghost"',
    ]);
  });
});

describe('llm-extproc validate --envoy-config: the graceful ext_proc close', OPTIONS, () => {
  const temp = temporaryDirectory('llm-extproc-validate-envoy-');
  const extProcFilter = [
    'static_resources:',
    '  listeners:',
    '    - filter_chains:',
    '        - filters:',
    '            - typed_config:',
    '                http_filters:',
    '                  - name: envoy.filters.http.ext_proc',
    '                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor }',
  ];

  it('warns when a bootstrap with ext_proc lacks the runtime flag; the exit code stays 0', OPTIONS, async () => {
    const config = await temp.configFile('ok.yaml', [BACKEND, MODEL]);
    const bare = await temp.configFile('envoy-bare.yaml', extProcFilter);
    const off = await temp.configFile('envoy-off.yaml', [...extProcFilter, 'layered_runtime:', '  layers:', '    - name: static', '      static_layer: { envoy.reloadable_features.ext_proc_graceful_grpc_close: false }']);
    for (const envoy of [bare, off]) {
      const run = await validate(['--config', config, '--envoy-config', envoy]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${config}: ok\n`);
      assert.match(run.stderr, /^warning: .*envoy\.reloadable_features\.ext_proc_graceful_grpc_close: true in a static runtime layer/);
    }
  });

  it('is quiet with the flag (dotted or nested), without ext_proc, and for the bootstrap `llm-extproc envoy` writes', OPTIONS, async () => {
    const config = await temp.configFile('ok2.yaml', [BACKEND, MODEL]);
    const dotted = await temp.configFile('envoy-on.yaml', [...extProcFilter, 'layered_runtime:', '  layers:', '    - name: static', '      static_layer: { envoy.reloadable_features.ext_proc_graceful_grpc_close: true }']);
    const nested = await temp.configFile('envoy-nested.yaml', [...extProcFilter, 'layered_runtime:', '  layers:', '    - name: static', '      static_layer: { envoy: { reloadable_features: { ext_proc_graceful_grpc_close: true } } }']);
    const none = await temp.configFile('envoy-none.yaml', ['static_resources: { listeners: [] }']);
    let generated = '';
    const io = { stdout: (text: string) => void (generated += text), stderr: () => undefined, env: {} };
    assert.equal(await main(['envoy', '--config', config], io, createComponents()), 0);
    const shipped = temp.path('envoy-generated.yaml');
    await writeFile(shipped, generated);
    for (const envoy of [dotted, nested, none, shipped]) assert.deepEqual(await validate(['--config', config, '--envoy-config', envoy]), { code: 0, stdout: `${config}: ok\n`, stderr: '' }, envoy);
  });

  it('an unreadable Envoy config is an error', OPTIONS, async () => {
    const config = await temp.configFile('ok3.yaml', [BACKEND, MODEL]);
    const run = await validate(['--config', config, '--envoy-config', temp.path('missing.yaml')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--envoy-config: .*missing\.yaml: ENOENT/);
  });
});
