/**
 * OpenAI chat completion request -> Gemini generateContent / streamGenerateContent request.
 *
 * Paths (the backend's OpenAI-style `prefix` does not apply: Google's paths are fixed):
 * - GCPVertexAI: `/v1/projects/{projectId}/locations/{region}/publishers/google/models/{model}:generateContent`,
 *   or `:streamGenerateContent?alt=sse`; projectId and region come from `auth.gcp`.
 * - GoogleAI: `/v1beta/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse`.
 * Body members in order: contents, systemInstruction, tools, toolConfig, safetySettings, generationConfig.
 * Vendor fields are applied last and win: `safetySettings` (Gemini's array, as given) and `thinking`
 * (see convert-generation-config.ts).
 *
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent
 * @see https://ai.google.dev/api/generate-content
 */
import { asArray } from '../../core/json.js';
import { encodeJson } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { RequestContext, UpstreamRequest, Warning } from '../types.js';
import { convertGenerationConfig } from './convert-generation-config.js';
import { convertMessages } from './convert-messages.js';
import { convertTools } from './convert-tools.js';
import type { JsonObject } from './gemini-types.js';
import { geminiGeneration } from './model-generation.js';
import { geminiSchemaDialect } from './schema-dialect.js';

function modelSegment(model: string): string {
  const name = model.startsWith('models/') ? model.slice('models/'.length) : model;
  return encodeURIComponent(name);
}

/** The full upstream path for this request. */
export function upstreamPath(ctx: RequestContext): string {
  const method = ctx.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const model = modelSegment(ctx.upstreamModel);
  if (ctx.backend.schema === 'GoogleAI') return `/v1beta/models/${model}:${method}`;
  const gcp = ctx.backend.credentials?.gcp;
  if (!gcp) throw new GatewayError('ERR_INTERNAL', `backend ${ctx.backend.name} has no auth.gcp (projectId and region)`);
  const project = encodeURIComponent(gcp.projectId);
  const region = encodeURIComponent(gcp.region);
  return `/v1/projects/${project}/locations/${region}/publishers/google/models/${model}:${method}`;
}

export function convertRequest(ctx: RequestContext): UpstreamRequest {
  const body = ctx.body;
  const generation = geminiGeneration(ctx.upstreamModel);
  const dialect = geminiSchemaDialect(ctx.upstreamModel, ctx.modelOptions?.geminiSchemaFields);
  const messages = convertMessages(body.messages, generation);
  const tools = convertTools(body, dialect);
  const config = convertGenerationConfig(body, generation, dialect);
  const warnings: Warning[] = [...messages.warnings, ...tools.warnings, ...config.warnings];

  const out: JsonObject = { contents: messages.contents };
  if (messages.systemInstruction) out.systemInstruction = messages.systemInstruction;
  if (tools.tools) out.tools = tools.tools;
  if (tools.toolConfig) out.toolConfig = tools.toolConfig;
  if (body.safetySettings !== undefined && body.safetySettings !== null) {
    const settings = asArray(body.safetySettings);
    if (!settings) throw new GatewayError('ERR_INVALID_REQUEST', '"safetySettings" must be an array', { param: 'safetySettings' });
    out.safetySettings = settings;
  }
  if (Object.keys(config.generationConfig).length > 0) out.generationConfig = config.generationConfig;

  return {
    path: upstreamPath(ctx),
    body: encodeJson(out),
    setHeaders: { 'content-type': 'application/json' },
    removeHeaders: [],
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
