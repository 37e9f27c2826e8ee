/**
 * OpenAI chat completions -> Claude: schema `Anthropic` (first-party Messages API) and `GCPAnthropic`
 * (Claude on Vertex AI). The pieces are exported for `AWSAnthropic` (Bedrock InvokeModel), which wraps the same
 * body and events in its own envelope.
 *
 * Anthropic:    POST {prefix}/messages (prefix default /v1), `anthropic-version` header
 *               (backend.apiVersion ?? 2023-06-01), `model` and `stream` in the body.
 * GCPAnthropic: POST /v1/projects/{projectId}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
 *               (`:streamRawPredict` when streaming), body `anthropic_version` (backend.apiVersion ??
 *               vertex-2023-10-16), no `model`, `stream: true` when streaming.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude
 */
import type { ResolvedBackend } from '../../config/load.js';
import { GatewayError } from '../../core/errors.js';
import { encodeJson } from '../../core/json.js';
import type { RequestContext, Translator, UpstreamRequest, Warning } from '../types.js';
import { buildAnthropicMessagesBody } from './convert-request.js';
import { translateAnthropicResponseBody } from './convert-response.js';
import { translateAnthropicError } from './convert-error.js';
import { AnthropicSseStream } from './sse-stream.js';

export { buildAnthropicMessagesBody, DEFAULT_MAX_TOKENS, REASONING_BUDGETS, type BuildOptions } from './convert-request.js';
export { anthropicResponseToOpenAI, translateAnthropicResponseBody } from './convert-response.js';
export { AnthropicStreamMapper } from './stream-mapper.js';
export { AnthropicMappedStream, combineSteps } from './sse-stream.js';
export { translateAnthropicError, anthropicErrorShape, statusForAnthropicErrorType } from './convert-error.js';
export { mapStopReason } from './map-stop-reason.js';
export { readAnthropicUsage, toTokenUsage, toOpenAIUsage } from './convert-usage.js';

export const ANTHROPIC_VERSION_HEADER = '2023-06-01';
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

function upstreamRequest(path: string, body: Record<string, unknown>, setHeaders: Record<string, string>, warnings: Warning[]): UpstreamRequest {
  const request: UpstreamRequest = { path, body: encodeJson(body), setHeaders: { 'content-type': 'application/json', ...setHeaders }, removeHeaders: [] };
  return warnings.length > 0 ? { ...request, warnings } : request;
}

function messagesPath(backend: ResolvedBackend): string {
  return `${(backend.prefix ?? '/v1').replace(/\/+$/, '')}/messages`;
}

/** Model names like `claude-sonnet-4-5@20250929` keep their `@`; anything else unsafe in a path segment is escaped. */
function modelSegment(model: string): string {
  return encodeURIComponent(model).replace(/%40/g, '@');
}

function vertexPath(ctx: RequestContext): string {
  const gcp = ctx.backend.credentials?.gcp ?? ctx.backend.auth?.gcp;
  if (!gcp) throw new GatewayError('ERR_INTERNAL', `backend ${ctx.backend.name} (GCPAnthropic) needs auth.gcp with projectId and region`);
  const method = ctx.stream ? 'streamRawPredict' : 'rawPredict';
  return `/v1/projects/${encodeURIComponent(gcp.projectId)}/locations/${encodeURIComponent(gcp.region)}/publishers/anthropic/models/${modelSegment(ctx.upstreamModel)}:${method}`;
}

const shared: Omit<Translator, 'request'> = {
  response: (ctx, body) => translateAnthropicResponseBody(ctx, body),
  error: (_ctx, status, body, headers) => translateAnthropicError(status, body, headers),
  stream: (ctx) => new AnthropicSseStream(ctx),
};

export const anthropicTranslator: Translator = {
  ...shared,
  request(ctx) {
    const warnings: Warning[] = [];
    const body = buildAnthropicMessagesBody(ctx, { includeModel: true, includeStream: true, warnings });
    return upstreamRequest(messagesPath(ctx.backend), body, { 'anthropic-version': ctx.backend.apiVersion ?? ANTHROPIC_VERSION_HEADER }, warnings);
  },
};

export const gcpAnthropicTranslator: Translator = {
  ...shared,
  request(ctx) {
    const warnings: Warning[] = [];
    const path = vertexPath(ctx);
    const anthropicVersion = ctx.backend.apiVersion ?? VERTEX_ANTHROPIC_VERSION;
    const body = buildAnthropicMessagesBody(ctx, { includeModel: false, includeStream: true, anthropicVersion, warnings });
    return upstreamRequest(path, body, {}, warnings);
  },
};
