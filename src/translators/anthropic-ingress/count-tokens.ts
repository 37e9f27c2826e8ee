/**
 * `POST /anthropic/v1/messages/count_tokens` answered by the provider's own counting API:
 * - Anthropic: `POST {prefix}/messages/count_tokens`, the client's body (model replaced), `anthropic-version`;
 * - Claude on Vertex AI: `POST .../publishers/anthropic/models/count-tokens:rawPredict`, the body with the
 *   upstream `model` in it;
 * - Claude on Bedrock (AWSAnthropic): `POST /model/{model}/count-tokens` with `{input: {invokeModel: {body}}}`,
 *   where body is the InvokeModel body (base64), `max_tokens` added when absent because InvokeModel requires it.
 * - AWS Bedrock Converse (any model): `POST /model/{model}/count-tokens` with `{input: {converse: {messages, system,
 *   toolConfig}}}`, built through the same pivot as Messages (pivot.ts);
 * - Gemini (Vertex AI, Gemini API): `:countTokens` with the generateContent request's `contents`,
 *   `systemInstruction` and `tools` (the Gemini API wants them inside `generateContentRequest` with the model).
 * Each answers `{"input_tokens": N}` to the client (Bedrock's `{"inputTokens": N}` and Gemini's `{"totalTokens": N}`
 * are re-shaped). A count consumes no
 * tokens: no usage is reported. OpenAI and Azure have no counting API; a model with such a backend is answered
 * locally from the tiktoken estimate (src/server/count-tokens-local.ts), marked `x-llm-extproc-token-count: estimate`.
 * @see https://platform.claude.com/docs/en/api/messages/count_tokens
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/count-tokens
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html
 * @see https://ai.google.dev/api/tokens
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/count-tokens
 */
import { GatewayError } from '../../core/errors.js';
import { encodeJson, isRecord, safeParseJson } from '../../core/json.js';
import { tokenCount } from '../../core/usage.js';
import { BEDROCK_ANTHROPIC_VERSION } from '../aws-anthropic/index.js';
import { bedrockRequestHeaders } from '../bedrock/convert-request.js';
import { bedrockConverseTranslator } from '../bedrock/index.js';
import { geminiTranslator } from '../gemini/index.js';
import { UnchangedStream } from '../shared/unchanged-stream.js';
import type { RequestContext, ResponseResult, Translator, UpstreamRequest, Warning } from '../types.js';
import { bedrockPivotOptions, geminiPivotOptions, pivotContext } from './pivot.js';
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

/** The fields of a built JSON request body that a counting API takes. */
function pickJson(body: Uint8Array, keys: readonly string[]): Record<string, unknown> {
  const parsed = safeParseJson(body);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value : {};
  const out: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function converseCountRequest(ctx: RequestContext): UpstreamRequest {
  const warnings: Warning[] = [];
  const converse = bedrockConverseTranslator.request(pivotContext({ ...ctx, stream: false }, bedrockPivotOptions(ctx), warnings));
  const input = pickJson(converse.body, ['messages', 'system', 'toolConfig']);
  const all = [...warnings, ...(converse.warnings ?? [])];
  return {
    path: `/model/${encodeURIComponent(ctx.upstreamModel)}/count-tokens`,
    body: encodeJson({ input: { converse: input } }),
    setHeaders: bedrockRequestHeaders(false),
    removeHeaders: ['anthropic-version', 'anthropic-beta'],
    ...(all.length > 0 ? { warnings: all } : {}),
  };
}

function geminiCountRequest(ctx: RequestContext): UpstreamRequest {
  const warnings: Warning[] = [];
  const generate = geminiTranslator.request(pivotContext({ ...ctx, stream: false }, geminiPivotOptions(ctx), warnings));
  const fields = pickJson(generate.body, ['contents', 'systemInstruction', 'tools']);
  const model = ctx.upstreamModel.startsWith('models/') ? ctx.upstreamModel : `models/${ctx.upstreamModel}`;
  const body = ctx.backend.schema === 'GoogleAI' ? { generateContentRequest: { model, ...fields } } : fields;
  const all = [...warnings, ...(generate.warnings ?? [])];
  return {
    path: generate.path.replace(/:generateContent$/, ':countTokens'),
    body: encodeJson(body),
    setHeaders: { 'content-type': 'application/json' },
    removeHeaders: ['anthropic-version', 'anthropic-beta'],
    ...(all.length > 0 ? { warnings: all } : {}),
  };
}

/** `{"input_tokens": N}` from the provider's answer (Anthropic's shape, or Bedrock's `inputTokens`). */
function countResponse(body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
  const count = value ? (tokenCount(value.input_tokens) ?? tokenCount(value.inputTokens) ?? tokenCount(value.totalTokens)) : undefined;
  if (count === undefined) return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream answered count_tokens without a token count', type: 'api_error' } };
  return { body: encodeJson({ input_tokens: count }), usage: undefined };
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
export const bedrockConverseCountTokensTranslator = countTranslator(converseCountRequest);
export const geminiCountTokensTranslator = countTranslator(geminiCountRequest);
