/**
 * The Envoy stand-in: an HTTP/1.1 listener on 127.0.0.1 running, per request, the filter chain the generated
 * bootstrap configures (src/envoy/, described in the README's "How it plugs into Envoy"): router-level ext_proc ->
 * rate limit (hooks.ts) -> router (retries across priorities, upstream filter chain per attempt). It follows
 * Envoy's ext_proc filter behaviour (envoy/source/extensions/filters/http/ext_proc in the Envoy repository);
 * where Envoy answers 500, so does this.
 *
 *   const envoy = await startEnvoy({ config, extProc: `127.0.0.1:${port}`, upstreams: { openai: mock.url } });
 *   ... fetch(`${envoy.url}/v1/chat/completions`, ...) ...
 *   await envoy.settled(); envoy.requests[0].metadata['io.envoy.ai_gateway'];
 *   await envoy.close();
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../../src/server/proto.js';
import { ROUTER_PROCESSING_MODE } from './processing-mode.js';
import { RequestContext, type ResolvedOptions, type SharedState } from './request-context.js';
import { routeNotFoundReply } from './local-reply.js';
import { forward } from './router.js';
import { runRouterRequestPhase } from './router-request.js';
import { runRouterResponsePhase } from './router-response.js';
import { seededRandom } from './routing.js';
import type { HeaderPair } from './header-map.js';
import { newCounters, type EnvoyOptions, type EnvoyStandIn, type RequestRecord } from './types.js';

export * from './types.js';

const MIB = 1024 * 1024;

function resolveOptions(options: EnvoyOptions): ResolvedOptions {
  return {
    config: options.config,
    upstreams: options.upstreams,
    messageTimeoutMs: options.messageTimeoutMs ?? 10_000,
    maxMessageTimeoutMs: options.maxMessageTimeoutMs ?? 0,
    gracefulClose: options.gracefulClose ?? false,
    remoteCloseTimeoutMs: options.remoteCloseTimeoutMs ?? 1000,
    retryOn: {
      connectFailure: options.retryOn?.connectFailure ?? true,
      fiveXx: options.retryOn?.fiveXx ?? true,
      statusCodes: options.retryOn?.statusCodes ?? [429],
    },
    numRetries: options.numRetries,
    rateLimit: options.rateLimit,
    bufferLimitBytes: options.bufferLimitBytes ?? 50 * MIB,
    failureModeAllow: options.failureModeAllow ?? false,
    routeTimeoutMs: options.routeTimeoutMs ?? 300_000,
    receivingNamespaces: options.receivingNamespaces ?? ['io.envoy.ai_gateway'],
    localReplyConfig: options.localReplyConfig,
  };
}

export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyStandIn> {
  const Client = extProcServiceDefinition.client();
  const shared: SharedState = {
    options: resolveOptions(options),
    client: new Client(options.extProc, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    }),
    agent: new http.Agent({ keepAlive: true, timeout: 4000 }),
    random: seededRandom(options.seed ?? 1),
    counters: newCounters(),
  };
  const requests: RequestRecord[] = [];
  let nextId = 1;
  const server = http.createServer((request, response) => {
    const context = new RequestContext(shared, request, response, nextId++);
    requests.push(context.record);
    handleRequest(context).catch((error: unknown) => {
      context.localReply({ status: 500, body: Buffer.from(String(error)), details: 'envoy_stand_in_internal_error' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    counters: shared.counters,
    settled: async () => {
      await Promise.all(requests.map((record) => record.done));
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([
        Promise.all(requests.map((record) => record.done)),
        new Promise((resolve) => setTimeout(resolve, 1500)),
      ]);
      shared.agent.destroy();
      shared.client.close();
    },
  };
}

async function handleRequest(context: RequestContext): Promise<void> {
  const { options } = context.shared;
  const routerStream = context.newStream('router', ROUTER_PROCESSING_MODE);
  const proceed = await runRouterRequestPhase(context, routerStream);
  if (!proceed || context.finished) return;
  context.record.routedHeaders = context.headers.pairs();
  context.record.routeName = context.route?.name;
  context.record.timings.requestPhaseDone = context.elapsed();

  let extraHeaders: HeaderPair[] = [];
  if (options.rateLimit) {
    context.rateLimit = 'pending';
    const decision = await options.rateLimit.onRequest(context.view());
    if (context.finished) return;
    context.rateLimit = 'done';
    extraHeaders = Object.entries(decision.responseHeaders ?? {});
    if (decision.overLimit) {
      context.localReply({
        status: 429,
        body: Buffer.alloc(0),
        details: 'request_rate_limited',
        flags: ['RL'],
        extraHeaders: [['x-envoy-ratelimited', 'true'], ...extraHeaders],
      });
      return;
    }
  }

  const route = context.route;
  if (!route) {
    context.localReply(routeNotFoundReply());
    return;
  }
  const routeTimer =
    options.routeTimeoutMs > 0
      ? setTimeout(
          () => context.localReply({ status: 504, body: Buffer.from('upstream request timeout'), details: 'upstream_response_timeout' }),
          options.routeTimeoutMs,
        )
      : undefined;
  try {
    const result = await forward(context, route);
    if (result.kind === 'stopped' || context.finished) return;
    context.onAbort(result.abort);
    await runRouterResponsePhase(context, routerStream, result.response, result.headers, result.ended, extraHeaders);
  } finally {
    clearTimeout(routeTimer);
  }
}
