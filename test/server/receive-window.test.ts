/**
 * The gRPC server offers Envoy a wide HTTP/2 receive window (RECEIVE_WINDOW_BYTES per stream through SETTINGS, and
 * on the connection), so a large request body is not paced by a WINDOW_UPDATE every 64 KiB. Seen from a raw HTTP/2
 * client, as Envoy sees it.
 */
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { RECEIVE_WINDOW_BYTES } from '../../src/server/grpc-server.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { waitUntil } from '../helpers/wait-until.js';

const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;

describe('HTTP/2 receive window', { timeout: 30_000 }, () => {
  let server: TestService;
  let session: ClientHttp2Session;

  before(async () => {
    server = await startTestService({ configYaml: CONFIG });
    session = connect(`http://${server.address}`);
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
  });
  after(async () => {
    session.destroy();
    await server.drain(1000);
  });

  it('is RECEIVE_WINDOW_BYTES for each stream and for the connection', async () => {
    assert.ok(RECEIVE_WINDOW_BYTES >= 16 * 1024 * 1024);
    // The stream window arrives in a SETTINGS frame after the first one; the connection's in a WINDOW_UPDATE.
    await waitUntil(() => session.remoteSettings.initialWindowSize === RECEIVE_WINDOW_BYTES, 'the SETTINGS with the stream window', 10_000);
    await waitUntil(() => (session.state.remoteWindowSize ?? 0) >= RECEIVE_WINDOW_BYTES, 'the connection window update', 10_000);
  });
});
