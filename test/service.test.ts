/**
 * createService (src/service.ts): refuses an incomplete translator table or a port in use before binding; serves a
 * config without models, with a warning.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createComponents, type Components } from '../src/components.js';
import { createLogger, type Logger } from '../src/logging.js';
import type { ListenAddress } from '../src/net-address.js';
import { ConfigError, createService, StartupError, type Service, type StartExtProcServer } from '../src/service.js';
import { withoutChatTranslator } from './helpers/translator-table.js';
import { connects, freePort } from './helpers/ports.js';

const OPTIONS = { timeout: 30_000 };
const LOOPBACK: ListenAddress = { kind: 'tcp', host: '127.0.0.1', port: 0 };

/** Writes the config to a temporary directory, runs the test with its path, removes the directory. */
async function withConfig(yaml: string, test: (configPath: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-service-'));
  try {
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, yaml);
    await test(configPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function start(configPath: string, logger: Logger, components: Components, startServer?: StartExtProcServer): Promise<Service> {
  return createService({ configPath, listen: LOOPBACK, admin: LOOPBACK, env: {}, logger, components, watch: false, startServer });
}

/** Listening TCP servers in this process (the admin HTTP server and the gRPC server are among them when bound). */
function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
}

interface LogLine {
  level: number;
  msg: string;
  backends?: number;
  models?: number;
}

const WARN = 40;

describe('createService', OPTIONS, () => {
  it('throws StartupError naming the schema without a chat translator, and binds nothing', OPTIONS, async () => {
    const shipped = createComponents();
    const components: Components = { ...shipped, translators: withoutChatTranslator(shipped.translators, 'GCPVertexAI') };
    let serverStarts = 0;
    const startServer: StartExtProcServer = async () => {
      serverStarts++;
      throw new Error('the gRPC server must not be started');
    };
    await withConfig('backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:1" }]\nmodels: [{ name: m, backends: [{ backend: b }] }]\n', async (configPath) => {
      const before = listeningServers();
      let service: Service | undefined;
      try {
        service = await start(configPath, createLogger({ level: 'silent' }), components, startServer);
        assert.fail('createService resolved with an incomplete translator table');
      } catch (error) {
        assert.ok(error instanceof StartupError, `a StartupError, got ${String(error)}`);
        assert.equal(error.problems.length, 1, error.message);
        assert.match(error.problems[0] ?? '', /schema GCPVertexAI has no openai chat translator/);
        assert.match(error.message, /GCPVertexAI/);
      } finally {
        await service?.drain(1_000);
        await service?.close();
      }
      assert.equal(serverStarts, 0, 'the gRPC server was not started');
      assert.ok(listeningServers() <= before, 'no server was left listening');
    });
  });

  it('serves a config without models, warning about it and logging the counts', OPTIONS, async () => {
    const lines: LogLine[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
    await withConfig('backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:1" }]\n', async (configPath) => {
      let service: Service | undefined;
      try {
        service = await start(configPath, logger, createComponents());
        assert.equal(service.configStore.current.models.size, 0);
        const serving = lines.find((line) => line.msg === 'ext_proc server serving');
        assert.ok(serving, `an 'ext_proc server serving' line in ${JSON.stringify(lines)}`);
        assert.equal(serving.backends, 1);
        assert.equal(serving.models, 0);
        const warning = lines.find((line) => line.level === WARN && /no models/.test(line.msg));
        assert.ok(warning, `a warn line about no models in ${JSON.stringify(lines)}`);
        const response = await fetch(`http://${service.adminAddress}/readyz`);
        await response.arrayBuffer();
        assert.equal(response.status, 200, 'ready while serving');
      } finally {
        await service?.drain(1_000);
        await service?.close();
      }
    });
  });

  it('refuses a port in use with one line naming the port and its flag, before binding anything', OPTIONS, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const free = await freePort();
    try {
      await withConfig('backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:1" }]\n', async (configPath) => {
        let serverStarts = 0;
        const startServer: StartExtProcServer = async () => {
          serverStarts++;
          throw new Error('the gRPC server must not be started');
        };
        for (const [which, listen, admin, flag] of [
          ['gRPC', { ...LOOPBACK, port }, { ...LOOPBACK, port: free }, '--listen ADDR'],
          ['admin', { ...LOOPBACK, port: free }, { ...LOOPBACK, port }, '--admin ADDR'],
        ] as const) {
          const attempt = createService({ configPath, listen, admin, env: {}, logger: createLogger({ level: 'silent' }), components: createComponents(), watch: false, startServer });
          const error: unknown = await attempt.then(
            () => assert.fail(`createService resolved with the ${which} port taken`),
            (caught: unknown) => caught,
          );
          assert.ok(error instanceof StartupError, `a StartupError, got ${String(error)}`);
          assert.deepEqual(error.problems, [`port ${port} on 127.0.0.1: already in use by another process; change it with ${flag}`]);
          assert.equal(error.message, `cannot start: ${error.problems[0]}`, 'one line');
          assert.equal(await connects(free), false, `the other port (${free}) is not listening`);
        }
        assert.equal(serverStarts, 0, 'the gRPC server was not started');
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('refuses the same port for both servers, and a config error comes before any port check', OPTIONS, async () => {
    const port = await freePort();
    await withConfig('backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:1" }]\n', async (configPath) => {
      const both = { ...LOOPBACK, port };
      const error: unknown = await createService({ configPath, listen: both, admin: both, env: {}, logger: createLogger({ level: 'silent' }), components: createComponents(), watch: false }).then(
        () => assert.fail('createService resolved with one port for both servers'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof StartupError, String(error));
      assert.deepEqual(error.problems, [`port ${port} is given twice (--listen ADDR and --admin ADDR); change one of them`]);
    });
    await withConfig('models: [{ name: m, backends: [{ backend: ghost }] }]\n', async (configPath) => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const listen = { ...LOOPBACK, port: (taken.address() as AddressInfo).port };
        const error: unknown = await createService({ configPath, listen, admin: LOOPBACK, env: {}, logger: createLogger({ level: 'silent' }), components: createComponents(), watch: false }).then(
          () => assert.fail('createService resolved with a bad config'),
          (caught: unknown) => caught,
        );
        assert.ok(error instanceof ConfigError, `the config error first, got ${String(error)}`);
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    });
  });
});
