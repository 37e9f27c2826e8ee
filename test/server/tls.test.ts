/**
 * TLS on the gRPC listener, with certificates made at test time by openssl: a TLS client is served and a
 * plaintext one is not; with a client CA (mutual TLS) a client without a certificate, or with one from another
 * CA, is refused; a new certificate written over the old (by rename) serves new connections, and one that does
 * not load is rejected while the old keeps serving; a bad pair refuses to start. Unix sockets are made 0660.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SOCKET_MODE } from '../../src/net-address.js';
import type { TlsReloadOutcome } from '../../src/server/tls.js';
import { StartupError } from '../../src/service.js';
import { startTestService, type TestService } from '../helpers/service.js';

const CONFIG = 'backends: [{ name: local, schema: OpenAI, endpoint: "http://127.0.0.1:9" }]\nmodels: [{ name: m, backends: [{ backend: local }] }]\n';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Pki {
  dir: string;
  /** Issues `<name>.key` and `<name>.crt` signed by the CA `<ca>` (made on first use). */
  issue(name: string, ca: string, extension: string): void;
  path(file: string): string;
  read(file: string): Promise<Buffer>;
}

async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const cas = new Set<string>();
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  return {
    dir,
    issue(name, ca, extension) {
      if (!cas.has(ca)) {
        openssl('req', '-x509', ...ecKey, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
        cas.add(ca);
      }
      execFileSync('sh', ['-c', `printf '%s\\n' '${extension}' > ${name}.ext`], { cwd: dir });
      openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    },
    path: (file) => join(dir, file),
    read: (file) => readFile(join(dir, file)),
  };
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth';

/** grpc.health.v1.Health/Check for the whole server: resolves with the status byte, rejects with the gRPC error. */
function healthCheck(address: string, credentials: grpc.ChannelCredentials): Promise<number> {
  const client = new grpc.Client(address, credentials, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  return new Promise<number>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.alloc(0),
      { deadline: Date.now() + 5_000 },
      (error, response) => (error ? reject(error) : resolve(response?.[1] ?? -1)),
    );
  }).finally(() => client.close());
}

const SERVING = 1;
const skip = hasOpenssl() ? false : 'openssl is not installed';

describe('TLS on the gRPC listener', { timeout: 120_000, skip }, () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
    pki.issue('server', 'ca1', SERVER_EXT);
    pki.issue('client', 'ca1', CLIENT_EXT);
    pki.issue('server2', 'ca2', SERVER_EXT);
    pki.issue('intruder', 'ca2', CLIENT_EXT);
  });
  after(async () => {
    await rm(pki.dir, { recursive: true, force: true });
  });

  it('serves TLS clients, refuses plaintext ones, and reloads a certificate replaced on disk', { timeout: 60_000 }, async () => {
    const certFile = pki.path('live.crt');
    const keyFile = pki.path('live.key');
    await writeFile(certFile, await pki.read('server.crt'));
    await writeFile(keyFile, await pki.read('server.key'));
    const service: TestService = await startTestService({ configYaml: CONFIG, tls: { certFile, keyFile } });
    try {
      const trustCa1 = grpc.credentials.createSsl(await pki.read('ca1.crt'));
      const trustCa2 = grpc.credentials.createSsl(await pki.read('ca2.crt'));
      assert.equal(await healthCheck(service.address, trustCa1), SERVING);
      await assert.rejects(healthCheck(service.address, grpc.credentials.createInsecure()), 'a plaintext client is refused');
      await assert.rejects(healthCheck(service.address, trustCa2), 'a client trusting another CA is refused');

      const tls = service.service.tls;
      assert.ok(tls);
      const outcomes: TlsReloadOutcome[] = [];
      const next = () => new Promise<TlsReloadOutcome>((resolve) => {
        const off = tls.onReload((outcome) => {
          outcomes.push(outcome);
          off();
          resolve(outcome);
        });
      });
      // A key that does not match the certificate: rejected, the old pair keeps serving.
      const rejected = next();
      await writeFile(pki.path('tmp.crt'), await pki.read('server2.crt'));
      await rename(pki.path('tmp.crt'), certFile);
      assert.equal(await rejected, 'rejected');
      assert.equal(await healthCheck(service.address, trustCa1), SERVING);

      // The matching key arrives: the new certificate serves new connections.
      const applied = next();
      await writeFile(pki.path('tmp.key'), await pki.read('server2.key'));
      await rename(pki.path('tmp.key'), keyFile);
      assert.equal(await applied, 'applied');
      assert.equal(await healthCheck(service.address, trustCa2), SERVING);
      await assert.rejects(healthCheck(service.address, grpc.credentials.createSsl(await pki.read('ca1.crt'))), 'the old certificate is gone');
    } finally {
      await service.drain(2_000);
    }
  });

  it('mutual TLS: a client certificate from the client CA is required', { timeout: 60_000 }, async () => {
    const service = await startTestService({
      configYaml: CONFIG,
      tls: { certFile: pki.path('server.crt'), keyFile: pki.path('server.key'), clientCaFile: pki.path('ca1.crt') },
    });
    try {
      const ca = await pki.read('ca1.crt');
      assert.equal(await healthCheck(service.address, grpc.credentials.createSsl(ca, await pki.read('client.key'), await pki.read('client.crt'))), SERVING);
      await assert.rejects(healthCheck(service.address, grpc.credentials.createSsl(ca)), 'no client certificate');
      await assert.rejects(healthCheck(service.address, grpc.credentials.createSsl(ca, await pki.read('intruder.key'), await pki.read('intruder.crt'))), 'a certificate from another CA');
    } finally {
      await service.drain(2_000);
    }
  });

  it('refuses to start with a certificate and key that do not match, or a file that is missing', { timeout: 30_000 }, async () => {
    for (const tls of [
      { certFile: pki.path('server.crt'), keyFile: pki.path('server2.key') },
      { certFile: pki.path('missing.crt'), keyFile: pki.path('server.key') },
    ]) {
      await assert.rejects(startTestService({ configYaml: CONFIG, tls }), (error: unknown) => error instanceof StartupError && /TLS/.test(error.problems.join(' ')));
    }
  });
});

describe('Unix sockets', { timeout: 30_000 }, () => {
  it(`are created with mode ${SOCKET_MODE.toString(8)}`, { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-sock-'));
    const path = join(dir, 'extproc.sock');
    const service = await startTestService({ configYaml: CONFIG, listen: `unix:${path}` });
    try {
      const info = await stat(path);
      assert.ok(info.isSocket());
      assert.equal(info.mode & 0o777, 0o660);
      assert.equal(await healthCheck(`unix:${path}`, grpc.credentials.createInsecure()), SERVING);
    } finally {
      await service.drain(2_000);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
