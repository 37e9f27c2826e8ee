/**
 * The OpenAI side of every embeddings translator: reading `POST /v1/embeddings` bodies (input, dimensions,
 * encoding_format) and building the OpenAI list object from the vectors a provider returned.
 *
 * - `input`: a string or an array of strings. Token arrays (an array of integers, or of such arrays) are only
 *   for backends that take tokens; the providers translated here take text, so they are a 400 naming `input`.
 * - Each provider's batch limit (texts per upstream call) is checked here: past it, a 400 that names the limit.
 * - `encoding_format` `float` (default) or `base64`: providers return floats, so base64 is encoded here, as
 *   OpenAI does: the vector as little-endian float32, base64.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, encodeJson } from '../../core/json.js';
import { makeUsage, type TokenUsage } from '../../core/usage.js';
import { estimateInputTokens } from '../../costs/estimate-input.js';
import type { RequestContext, ResponseResult, StreamStep, StreamTranslator } from '../types.js';

export interface EmbeddingsInput {
  readonly texts: readonly string[];
  readonly dimensions: number | undefined;
  readonly encodingFormat: 'float' | 'base64';
}

function isTokenArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'number');
}

/**
 * The texts, dimensions and encoding of an OpenAI embeddings body, for a provider that takes at most `batchLimit`
 * texts per call. `provider` names the upstream in error messages.
 */
export function readEmbeddingsInput(body: Readonly<Record<string, unknown>>, provider: string, batchLimit: number): EmbeddingsInput {
  const input = body.input;
  let texts: string[];
  if (typeof input === 'string') texts = [input];
  else {
    const items = asArray(input);
    if (!items) throw new GatewayError('ERR_MALFORMED_REQUEST', '`input` is required: a string or an array of strings', { param: 'input' });
    if (items.length === 0) throw new GatewayError('ERR_MALFORMED_REQUEST', '`input` must not be an empty array', { param: 'input' });
    if (isTokenArray(items) || items.some(isTokenArray)) {
      throw new GatewayError('ERR_MALFORMED_REQUEST', `${provider} takes text, not token arrays: send \`input\` as a string or an array of strings`, { param: 'input' });
    }
    if (!items.every((item): item is string => typeof item === 'string')) {
      throw new GatewayError('ERR_MALFORMED_REQUEST', '`input` must be a string or an array of strings', { param: 'input' });
    }
    texts = items;
  }
  if (texts.length > batchLimit) {
    throw new GatewayError(
      'ERR_MALFORMED_REQUEST',
      `${provider} embeds at most ${batchLimit} input${batchLimit === 1 ? '' : 's'} per request; this request has ${texts.length}: split it into smaller batches`,
      { param: 'input' },
    );
  }
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null && !(typeof dimensions === 'number' && Number.isInteger(dimensions) && dimensions > 0)) {
    throw new GatewayError('ERR_MALFORMED_REQUEST', '`dimensions` must be a positive integer', { param: 'dimensions' });
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw new GatewayError('ERR_MALFORMED_REQUEST', '`encoding_format` must be "float" or "base64"', { param: 'encoding_format' });
  }
  return { texts, dimensions: typeof dimensions === 'number' ? dimensions : undefined, encodingFormat: format };
}

/** A vector as OpenAI's base64 encoding: little-endian float32. */
export function encodeBase64Vector(values: readonly number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (const [index, value] of values.entries()) bytes.writeFloatLE(value, index * 4);
  return bytes.toString('base64');
}

/** Input tokens counted locally (the provider reports none): the same count the request phase reserves with. */
export function estimatedEmbeddingsUsage(ctx: RequestContext): TokenUsage {
  const tokens = estimateInputTokens(ctx.upstreamModel, ctx.body);
  return makeUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens });
}

/**
 * The OpenAI embeddings list for `vectors` (in input order), with usage: reported by the provider, or counted
 * locally and flagged `usageEstimated`.
 */
export function embeddingsResult(ctx: RequestContext, vectors: readonly (readonly number[])[], reported: TokenUsage | undefined): ResponseResult {
  const expected = typeof ctx.body.input === 'string' ? 1 : (asArray(ctx.body.input)?.length ?? 0);
  if (vectors.length !== expected) return invalidEmbeddingsAnswer('the provider', `${vectors.length} vectors for ${expected} inputs`);
  const format = ctx.body.encoding_format === 'base64' ? 'base64' : 'float';
  const usage = reported ?? estimatedEmbeddingsUsage(ctx);
  const body = {
    object: 'list',
    data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? encodeBase64Vector(vector) : vector })),
    model: ctx.upstreamModel,
    usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens },
  };
  return { body: encodeJson(body), usage, responseModel: ctx.upstreamModel, ...(reported === undefined ? { usageEstimated: true } : {}) };
}

/** A 2xx whose body is not the expected embeddings answer. */
export function invalidEmbeddingsAnswer(provider: string, detail: string): ResponseResult {
  return { body: undefined, usage: undefined, error: { status: 502, message: `${provider} answered without embeddings: ${detail}`, code: 'upstream_invalid_response' } };
}

/** Every element a finite number: a vector. */
export function numberVector(value: unknown): number[] | undefined {
  const items = asArray(value);
  return items?.every((item): item is number => typeof item === 'number' && Number.isFinite(item)) ? items : undefined;
}

/** Embeddings never stream (the request phase forces `stream` off); a stream answer passes through untouched. */
export class UnchangedStream implements StreamTranslator {
  push(chunk: Uint8Array): StreamStep {
    return { body: chunk, usage: undefined };
  }
  end(): StreamStep {
    return { body: new Uint8Array(0), usage: undefined };
  }
}
