/**
 * OpenAI embeddings -> Bedrock InvokeModel (`/model/{modelId}/invoke`, SigV4-signed afterwards by src/auth).
 * The body depends on the model family, told from the model ID (inference profiles like `us.cohere…` included):
 *
 * - Amazon Titan Text Embeddings (`amazon.titan-embed-text-v2:0`, v1): `{inputText, dimensions?, normalize: true}`
 *   -> `{embedding, inputTextTokenCount}`. One text per call: ext_proc sends one upstream request per client
 *   request, so an array of more than one input is a 400 (no fan-out).
 * - Cohere Embed (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`, `cohere.embed-v4:0`): `{texts,
 *   input_type, embedding_types: ["float"]}` -> `{embeddings: {float: [[...]]}}` (or `{embeddings: [[...]]}`,
 *   response_type embeddings_floats). Up to 96 texts per call. `input_type` defaults to `search_document`; a
 *   client may send its own (`search_query`, `classification`, `clustering`). `dimensions` is v4's
 *   `output_dimension`; v3 models have a fixed size, so `dimensions` is a 400 there.
 *
 * Usage: Titan's `inputTextTokenCount`; otherwise Bedrock's `x-amzn-bedrock-input-token-count` response header;
 * when neither is present, counted locally and flagged `usage_estimated`.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed-v3.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, encodeJson, isRecord, safeParseJson } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';
import { translateBedrockError } from '../bedrock/convert-error.js';
import { bedrockRequestHeaders } from '../bedrock/convert-request.js';
import type { HeaderLookup, RequestContext, ResponseResult, Translator, UpstreamRequest } from '../types.js';
import { embeddingsResult, invalidEmbeddingsAnswer, numberVector, readEmbeddingsInput, UnchangedStream } from './openai-embeddings.js';

export const TITAN_BATCH_LIMIT = 1;
export const COHERE_BATCH_LIMIT = 96;
const COHERE_INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering']);

type Family = 'titan' | 'cohere';

export function bedrockEmbeddingFamily(modelId: string): Family | undefined {
  if (/(^|[.:/])amazon\.titan-embed-text/.test(modelId)) return 'titan';
  if (/(^|[.:/])cohere\.embed-/.test(modelId)) return 'cohere';
  return undefined;
}

function familyOf(ctx: RequestContext): Family {
  const family = bedrockEmbeddingFamily(ctx.upstreamModel);
  if (!family) {
    throw new GatewayError(
      'ERR_MALFORMED_REQUEST',
      `Bedrock embeddings are served for Amazon Titan Text Embeddings and Cohere Embed models; ${ctx.upstreamModel.slice(0, 200)} is neither`,
      { param: 'model' },
    );
  }
  return family;
}

function request(ctx: RequestContext): UpstreamRequest {
  const family = familyOf(ctx);
  const path = `/model/${encodeURIComponent(ctx.upstreamModel)}/invoke`;
  if (family === 'titan') {
    const input = readEmbeddingsInput(ctx.body, `Bedrock ${ctx.upstreamModel} (Titan)`, TITAN_BATCH_LIMIT);
    const body = { inputText: input.texts[0], ...(input.dimensions === undefined ? {} : { dimensions: input.dimensions }), normalize: true };
    return { path, body: encodeJson(body), setHeaders: bedrockRequestHeaders(false), removeHeaders: [] };
  }
  const input = readEmbeddingsInput(ctx.body, `Bedrock ${ctx.upstreamModel} (Cohere Embed)`, COHERE_BATCH_LIMIT);
  const inputType = ctx.body.input_type ?? 'search_document';
  if (typeof inputType !== 'string' || !COHERE_INPUT_TYPES.has(inputType)) {
    throw new GatewayError('ERR_MALFORMED_REQUEST', `\`input_type\` must be one of ${[...COHERE_INPUT_TYPES].join(', ')}`, { param: 'input_type' });
  }
  const v4 = /cohere\.embed-v4/.test(ctx.upstreamModel);
  if (input.dimensions !== undefined && !v4) {
    throw new GatewayError('ERR_MALFORMED_REQUEST', `\`dimensions\` is not supported by ${ctx.upstreamModel} (Cohere Embed v3 vectors have a fixed size)`, { param: 'dimensions' });
  }
  const body = {
    texts: input.texts,
    input_type: inputType,
    embedding_types: ['float'],
    ...(input.dimensions === undefined ? {} : { output_dimension: input.dimensions }),
  };
  return { path, body: encodeJson(body), setHeaders: bedrockRequestHeaders(false), removeHeaders: [] };
}

function headerUsage(headers: HeaderLookup): TokenUsage | undefined {
  const raw = headers.get('x-amzn-bedrock-input-token-count');
  if (raw === undefined || raw.trim() === '') return undefined;
  const tokens = Number(raw);
  return makeUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens });
}

function response(ctx: RequestContext, bytes: Uint8Array, headers: HeaderLookup): ResponseResult {
  const parsed = safeParseJson(bytes);
  if (!parsed.ok || !isRecord(parsed.value)) return invalidEmbeddingsAnswer('Bedrock', 'the body is not a JSON object');
  const value = parsed.value;
  if (familyOf(ctx) === 'titan') {
    const vector = numberVector(value.embedding) ?? numberVector(isRecord(value.embeddingsByType) ? value.embeddingsByType.float : undefined);
    if (!vector) return invalidEmbeddingsAnswer('Bedrock Titan', 'no `embedding`');
    const tokens = tokenCount(value.inputTextTokenCount);
    const usage = tokens === undefined ? headerUsage(headers) : makeUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens });
    return embeddingsResult(ctx, [vector], usage);
  }
  // embedding_types ["float"] answers {embeddings: {float: [...]}}; without it, {embeddings: [...]}.
  const list = isRecord(value.embeddings) ? asArray(value.embeddings.float) : asArray(value.embeddings);
  if (!list) return invalidEmbeddingsAnswer('Bedrock Cohere', `no float \`embeddings\` (response_type ${asString(value.response_type) ?? 'unknown'})`);
  const vectors: number[][] = [];
  for (const item of list) {
    const vector = numberVector(item);
    if (!vector) return invalidEmbeddingsAnswer('Bedrock Cohere', 'an embedding is not a list of numbers');
    vectors.push(vector);
  }
  return embeddingsResult(ctx, vectors, headerUsage(headers));
}

export const bedrockEmbeddingsTranslator: Translator = {
  request,
  response,
  error: (_ctx, status, body, headers) => translateBedrockError(status, body, headers),
  stream: () => new UnchangedStream(),
};
