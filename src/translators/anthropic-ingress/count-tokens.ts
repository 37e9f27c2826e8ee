/**
 * `POST /anthropic/v1/messages/count_tokens` answered by the provider's own counting API, where Claude has one:
 * - Anthropic: `POST {prefix}/messages/count_tokens`, the client's body (model replaced), `anthropic-version`;
 * - Claude on Vertex AI: `POST .../publishers/anthropic/models/count-tokens:rawPredict`, the body with the
 *   upstream `model` in it;
 * - Claude on Bedrock (AWSAnthropic): `POST /model/{model}/count-tokens` with `{input: {invokeModel: {body}}}`,
 *   where body is the InvokeModel body (base64), `max_tokens` added when absent because InvokeModel requires it.
 * Each answers `{"input_tokens": N}` to the client (Bedrock's `{"inputTokens": N}` is re-shaped). A count consumes no
 * tokens: no usage is reported. Backends without a counting API (and models with any such backend) are answered
 * locally from the tiktoken estimate (src/server/anthropic-local.ts), marked `x-llm-extproc-token-count: estimate`.
 * @see https://platform.claude.com/docs/en/api/messages/count_tokens
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/count-tokens
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html
 */
import { GatewayError } from '../../core/errors.js';
import { encodeJson, isRecord, safeParseJson } from '../../core/json.js';
import { tokenCount } from '../../core/usage.js';
import { BEDROCK_ANTHROPIC_VERSION } from '../aws-anthropic/index.js';
import { bedrockRequestHeaders } from '../bedrock/convert-request.js';
import type { RequestContext, ResponseResult, StreamStep, StreamTranslator, Translator, UpstreamRequest } from '../types.js';
import { anthropicClientError } from './anthropic-error.js';
import { BEDROCK_UNSUPPORTED_FIELDS, editBody, nativeAnthropicRequest } from './native-request.js';

/** The response header that says where a token count came from: `provider` or `estimate`. */
export const TOKEN_COUNT_HEADER = 'x-llm-extproc-token-count';

/** Fields of a Messages body that count_tokens takes (everything else, like max_tokens or stream, is not counted). */
const COUNTED_FIELDS = ['messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers'];

function countedBody(ctx: RequestContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of COUNTED_FIELDS) if (ctx.body[key] !== undefined) out[key] = ctx.body[key];
  return out;
}

function anthropicCountRequest(ctx: RequestContext): UpstreamRequest {
  const native = nativeAnthropicRequest(ctx);
  return { ...native, path: `${ctx.backend.prefix.replace(/\/+$/, '')}/messages/count_tokens` };
}

function vertexCountRequest(ctx: RequestContext): UpstreamRequest {
  const gcp = ctx.backend.credentials?.gcp ?? ctx.backend.auth?.gcp;
  if (!gcp) throw new GatewayError('ERR_INTERNAL', `backend ${ctx.backend.name} (GCPAnthropic) needs auth.gcp with projectId and region`);
  const path = `/v1/projects/${encodeURIComponent(gcp.projectId)}/locations/${encodeURIComponent(gcp.region)}/publishers/anthropic/models/count-tokens:rawPredict`;
  return {
    path,
    body: encodeJson({ model: ctx.upstreamModel, ...countedBody(ctx) }),
    setHeaders: { 'content-type': 'application/json' },
    removeHeaders: ['anthropic-version'],
  };
}

function bedrockCountRequest(ctx: RequestContext): UpstreamRequest {
  const unsupported = BEDROCK_UNSUPPORTED_FIELDS.filter((field) => field in ctx.body);
  const set: Record<string, unknown> = { anthropic_version: ctx.backend.apiVersion ?? BEDROCK_ANTHROPIC_VERSION };
  if (ctx.body.max_tokens === undefined) set.max_tokens = 1;
  const invokeBody = editBody(ctx, { remove: ['model', 'stream', ...unsupported], set });
  return {
    path: `/model/${encodeURIComponent(ctx.upstreamModel)}/count-tokens`,
    body: encodeJson({ input: { invokeModel: { body: Buffer.from(invokeBody).toString('base64') } } }),
    setHeaders: bedrockRequestHeaders(false),
    removeHeaders: ['anthropic-version', 'anthropic-beta'],
  };
}

/** `{"input_tokens": N}` from the provider's answer (Anthropic's shape, or Bedrock's `inputTokens`). */
function countResponse(body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
  const count = value ? (tokenCount(value.input_tokens) ?? tokenCount(value.inputTokens)) : undefined;
  if (count === undefined) return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream answered count_tokens without a token count', type: 'api_error' } };
  return { body: encodeJson({ input_tokens: count }), usage: undefined };
}

/** count_tokens never streams; a stream answer passes through untouched. */
class UnchangedStream implements StreamTranslator {
  push(chunk: Uint8Array): StreamStep {
    return { body: chunk, usage: undefined };
  }
  end(): StreamStep {
    return { body: new Uint8Array(0), usage: undefined };
  }
}

function countTranslator(request: (ctx: RequestContext) => UpstreamRequest): Translator {
  return {
    request,
    response: (_ctx, body) => countResponse(body),
    error: (_ctx, status, body, headers) => anthropicClientError(status, body, headers),
    stream: () => new UnchangedStream(),
  };
}

export const anthropicCountTokensTranslator = countTranslator(anthropicCountRequest);
export const gcpAnthropicCountTokensTranslator = countTranslator(vertexCountRequest);
export const awsAnthropicCountTokensTranslator = countTranslator(bedrockCountRequest);
