/**
 * The shipped service PINGs every connection (LLM_EXTPROC_KEEPALIVE_TIME_MS, shortened here) and drops one that does
 * not answer within LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS: a peer that opened HTTP/2 and then stopped answering loses its
 * connection, while a live HTTP/2 client (which answers PINGs, as Envoy does) keeps its idle connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startProduct, type Product } from './product.js';

const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;
const TIME_MS = 200;
const TIMEOUT_MS = 300;

/** The client connection preface and an empty SETTINGS frame: an HTTP/2 connection as far as the server can tell. */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

describe('keepalive PINGs on the service connections', { timeout: 60_000 }, () => {
  let product: Product;

  before(async () => {
    product = await startProduct({
      configYaml: CONFIG,
      env: { LLM_EXTPROC_KEEPALIVE_TIME_MS: String(TIME_MS), LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
  });

  after(async () => {
    await product.stop('SIGTERM');
  });

  it('drops a connection whose peer does not answer the PING', { timeout: 30_000 }, async () => {
    const [host, port] = product.grpcAddress.split(':');
    const socket = net.connect({ host, port: Number(port) });
    await once(socket, 'connect');
    let received = 0;
    // Reads whatever the server sends (SETTINGS, PINGs) and never answers anything.
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.write(PREFACE);
    const openedAt = performance.now();
    await once(socket, 'close');
    assert.ok(received > 0, 'the server spoke HTTP/2 on the connection');
    assert.ok(performance.now() - openedAt >= TIME_MS, 'not dropped before a PING was due');
  });

  it('keeps an idle connection whose peer answers PINGs', { timeout: 30_000 }, async () => {
    const session = http2.connect(`http://${product.grpcAddress}`);
    try {
      await once(session, 'remoteSettings');
      let closed = false;
      session.once('close', () => (closed = true));
      // Several PING rounds, each answered by Node's HTTP/2 client as Envoy answers them; the connection outlives
      // every one of them (a PING comes only after the previous one was answered in time).
      for (let pings = 0; pings < 4; pings += 1) await once(session, 'ping');
      assert.equal(closed, false);
      assert.equal(session.destroyed, false);
    } finally {
      session.destroy();
    }
  });
});
