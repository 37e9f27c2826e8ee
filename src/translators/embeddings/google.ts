/**
 * OpenAI embeddings -> Google, on both surfaces.
 *
 * GCPVertexAI (Bearer token):
 * - text-embedding-*, text-multilingual-embedding-*, textembedding-gecko* and gemini-embedding-001 through
 *   `:predict`: `{instances: [{content, task_type?, title?}], parameters: {outputDimensionality?, autoTruncate?}}`
 *   -> `{predictions: [{embeddings: {values, statistics: {token_count, truncated}}}]}`; usage is the sum of
 *   `token_count`. Up to 250 texts per call; gemini-embedding-001 takes one instance per call.
 * - other Gemini embedding models through `:embedContent` (one content per call): `{content: {parts: [{text}]},
 *   outputDimensionality?, autoTruncate?, taskType?, title?}` -> `{embedding: {values}, usageMetadata}`.
 * GoogleAI (x-goog-api-key): `/v1beta/models/{m}:batchEmbedContents` with `{requests: [{model: "models/{m}",
 * content: {parts: [{text}]}, outputDimensionality?, taskType?, title?}]}` -> `{embeddings: [{values}]}`. The
 * Gemini API reports no token counts: usage is counted locally and flagged `usage_estimated`. Up to 100 requests
 * per batch.
 *
 * `dimensions` -> outputDimensionality. Vendor fields a client may add: `task_type` (e.g. RETRIEVAL_QUERY),
 * `title`, and `auto_truncate` (boolean; Vertex only, the provider's default applies when absent).
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/embedContent
 * @see https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, encodeJson, isRecord, safeParseJson } from '../../core/json.js';
import { makeUsage, tokenCount } from '../../core/usage.js';
import { convertError } from '../gemini/convert-error.js';
import type { RequestContext, ResponseResult, Translator, UpstreamRequest } from '../types.js';
import { embeddingsResult, invalidEmbeddingsAnswer, numberVector, readEmbeddingsInput, UnchangedStream } from './openai-embeddings.js';

/** Texts per call: the Vertex text-embeddings API, gemini-embedding-001 on Vertex, Gemini API batches. */
export const VERTEX_PREDICT_BATCH_LIMIT = 250;
export const GOOGLE_AI_BATCH_LIMIT = 100;

type Method = 'predict' | 'embedContent' | 'batchEmbedContents';

function modelName(model: string): string {
  return model.startsWith('models/') ? model.slice('models/'.length) : model;
}

/** The Vertex method for a model: the text-embedding family and gemini-embedding-001 are served by `:predict`. */
export function vertexEmbeddingMethod(model: string): 'predict' | 'embedContent' {
  const name = modelName(model);
  if (/^(text-embedding-|text-multilingual-embedding-|textembedding-gecko|gemini-embedding-001)/.test(name)) return 'predict';
  return name.startsWith('gemini-') ? 'embedContent' : 'predict';
}

function batchLimit(method: Method, model: string): number {
  if (method === 'batchEmbedContents') return GOOGLE_AI_BATCH_LIMIT;
  if (method === 'embedContent' || modelName(model).startsWith('gemini-embedding-001')) return 1;
  return VERTEX_PREDICT_BATCH_LIMIT;
}

function methodOf(ctx: RequestContext): Method {
  return ctx.backend.schema === 'GoogleAI' ? 'batchEmbedContents' : vertexEmbeddingMethod(ctx.upstreamModel);
}

function path(ctx: RequestContext, method: Method): string {
  const model = encodeURIComponent(modelName(ctx.upstreamModel));
  if (ctx.backend.schema === 'GoogleAI') return `/v1beta/models/${model}:${method}`;
  const gcp = ctx.backend.credentials?.gcp;
  if (!gcp) throw new GatewayError('ERR_INTERNAL', `backend ${ctx.backend.name} has no auth.gcp (projectId and region)`);
  return `/v1/projects/${encodeURIComponent(gcp.projectId)}/locations/${encodeURIComponent(gcp.region)}/publishers/google/models/${model}:${method}`;
}

function vendorFields(body: Readonly<Record<string, unknown>>): { taskType?: string; title?: string; autoTruncate?: boolean } {
  const taskType = asString(body.task_type);
  const title = asString(body.title);
  const autoTruncate = body.auto_truncate;
  if (autoTruncate !== undefined && typeof autoTruncate !== 'boolean') {
    throw new GatewayError('ERR_MALFORMED_REQUEST', '`auto_truncate` must be a boolean', { param: 'auto_truncate' });
  }
  return { ...(taskType ? { taskType } : {}), ...(title ? { title } : {}), ...(autoTruncate === undefined ? {} : { autoTruncate }) };
}

function request(ctx: RequestContext): UpstreamRequest {
  const method = methodOf(ctx);
  const provider = method === 'batchEmbedContents' ? 'the Gemini API (batchEmbedContents)' : `Vertex AI ${modelName(ctx.upstreamModel)} (:${method})`;
  const input = readEmbeddingsInput(ctx.body, provider, batchLimit(method, ctx.upstreamModel));
  const vendor = vendorFields(ctx.body);
  const dims = input.dimensions === undefined ? {} : { outputDimensionality: input.dimensions };
  let body: unknown;
  if (method === 'predict') {
    const instance = { ...(vendor.taskType ? { task_type: vendor.taskType } : {}), ...(vendor.title ? { title: vendor.title } : {}) };
    const parameters = { ...dims, ...(vendor.autoTruncate === undefined ? {} : { autoTruncate: vendor.autoTruncate }) };
    body = { instances: input.texts.map((content) => ({ content, ...instance })), ...(Object.keys(parameters).length > 0 ? { parameters } : {}) };
  } else if (method === 'embedContent') {
    const { taskType, title, autoTruncate } = vendor;
    body = {
      content: { parts: [{ text: input.texts[0] }] },
      ...(taskType ? { taskType } : {}),
      ...(title ? { title } : {}),
      ...dims,
      ...(autoTruncate === undefined ? {} : { autoTruncate }),
    };
  } else {
    if (vendor.autoTruncate !== undefined) throw new GatewayError('ERR_MALFORMED_REQUEST', '`auto_truncate` is not supported by the Gemini API', { param: 'auto_truncate' });
    const model = `models/${modelName(ctx.upstreamModel)}`;
    const { taskType, title } = vendor;
    body = { requests: input.texts.map((text) => ({ model, content: { parts: [{ text }] }, ...(taskType ? { taskType } : {}), ...(title ? { title } : {}), ...dims })) };
  }
  return { path: path(ctx, method), body: encodeJson(body), setHeaders: { 'content-type': 'application/json' }, removeHeaders: [] };
}

function response(ctx: RequestContext, bytes: Uint8Array): ResponseResult {
  const parsed = safeParseJson(bytes);
  if (!parsed.ok || !isRecord(parsed.value)) return invalidEmbeddingsAnswer('Google', 'the body is not a JSON object');
  const value = parsed.value;
  const method = methodOf(ctx);
  if (method === 'predict') {
    const predictions = asArray(value.predictions);
    if (!predictions) return invalidEmbeddingsAnswer('Vertex AI', 'no `predictions`');
    const vectors: number[][] = [];
    let tokens: number | undefined;
    for (const prediction of predictions) {
      const embeddings = isRecord(prediction) && isRecord(prediction.embeddings) ? prediction.embeddings : undefined;
      const vector = numberVector(embeddings?.values);
      if (!vector) return invalidEmbeddingsAnswer('Vertex AI', 'a prediction has no `embeddings.values`');
      vectors.push(vector);
      const count = isRecord(embeddings?.statistics) ? tokenCount(embeddings.statistics.token_count) : undefined;
      if (count !== undefined) tokens = (tokens ?? 0) + count;
    }
    const usage = tokens === undefined ? undefined : makeUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens });
    return embeddingsResult(ctx, vectors, usage);
  }
  if (method === 'embedContent') {
    const vector = numberVector(isRecord(value.embedding) ? value.embedding.values : undefined);
    if (!vector) return invalidEmbeddingsAnswer('Vertex AI', 'no `embedding.values`');
    const metadata = isRecord(value.usageMetadata) ? value.usageMetadata : {};
    const tokens = tokenCount(metadata.promptTokenCount) ?? tokenCount(metadata.totalTokenCount);
    return embeddingsResult(ctx, [vector], tokens === undefined ? undefined : makeUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens }));
  }
  const embeddings = asArray(value.embeddings);
  if (!embeddings) return invalidEmbeddingsAnswer('the Gemini API', 'no `embeddings`');
  const vectors: number[][] = [];
  for (const embedding of embeddings) {
    const vector = numberVector(isRecord(embedding) ? embedding.values : undefined);
    if (!vector) return invalidEmbeddingsAnswer('the Gemini API', 'an embedding has no `values`');
    vectors.push(vector);
  }
  return embeddingsResult(ctx, vectors, undefined);
}

export const googleEmbeddingsTranslator: Translator = {
  request,
  response: (ctx, body) => response(ctx, body),
  error: (_ctx, status, body, headers) => convertError(status, body, headers),
  stream: () => new UnchangedStream(),
};
