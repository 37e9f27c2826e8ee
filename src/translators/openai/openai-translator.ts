/**
 * The OpenAI passthrough translator, for OpenAI and OpenAI-compatible servers (vLLM, Ollama, Groq, ...).
 * Other translators that speak the OpenAI wire format (Azure OpenAI) compose it with their own path.
 */
import type { RequestContext, Translator } from '../types.js';
import { buildOpenAIRequest, openAIPath } from './build-openai-request.js';
import { convertOpenAIError } from './convert-openai-error.js';
import { convertOpenAIResponse } from './convert-openai-response.js';
import { OpenAIStreamMapper } from './openai-stream-mapper.js';

export interface OpenAITranslatorOptions {
  /** The upstream `:path` (query included) for a request. */
  readonly path: (ctx: RequestContext) => string;
}

export function createOpenAITranslator(options: OpenAITranslatorOptions): Translator {
  return {
    request: (ctx) => buildOpenAIRequest(ctx, options.path(ctx)),
    response: (_ctx, body) => convertOpenAIResponse(body),
    error: (_ctx, status, body, headers) => convertOpenAIError(status, body, headers),
    stream: (ctx) => new OpenAIStreamMapper(ctx),
  };
}

export const openAITranslator = createOpenAITranslator({
  path: (ctx) => openAIPath(ctx.backend, ctx.operation),
});
