/**
 * A streamed chat completion held open through the shipped process: the product, the Envoy stand-in, and an
 * upstream that sends its first chunk and then waits for `release()`. Signal tests use it to act while a stream
 * is in flight.
 */
import assert from 'node:assert/strict';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { startEnvoy } from '../envoy/envoy.js';
import { VALIDATORS } from '../helpers/components.js';
import { startHttpMock, sseEvent } from '../mocks/http-mock.js';
import { startProduct, type Product } from './product.js';

export interface HeldStream {
  readonly product: Product;
  /** Lets the upstream send the rest of the stream. */
  release(): void;
  /** Reads the rest of the client's stream, to its end. */
  rest(): Promise<string>;
  /** Stops everything (the product with SIGKILL if it still runs). */
  close(): Promise<void>;
}

/** `configYaml` must define model `m` on backend `openai`. */
export async function openHeldStream(configYaml: string): Promise<HeldStream> {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const chunk = (content: string, finish: string | null = null) =>
    sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
  const upstream = await startHttpMock({
    kind: 'custom',
    async handle(response) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(chunk('first '));
      await released;
      response.write(chunk('second', 'stop'));
      response.end('data: [DONE]\n\n');
    },
  });
  const product = await startProduct({ configYaml });
  const loaded = await parseConfigForEnvoy(configYaml, 'config.yaml', VALIDATORS);
  assert.ok(loaded.ok);
  const envoy = await startEnvoy({ config: loaded.config, extProc: product.grpcAddress, upstreams: { openai: upstream.url }, gracefulClose: true });
  const close = async () => {
    release();
    await envoy.close();
    await product.stop('SIGKILL');
    await upstream.close();
  };
  try {
    const response = await fetch(`${envoy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(response.status, 200);
    const reader = response.body?.getReader();
    assert.ok(reader);
    const first = await reader.read();
    assert.match(Buffer.from(first.value ?? new Uint8Array()).toString(), /first/);
    return {
      product,
      release,
      async rest() {
        let text = '';
        for (let part = await reader.read(); !part.done; part = await reader.read()) text += Buffer.from(part.value).toString();
        return text;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
