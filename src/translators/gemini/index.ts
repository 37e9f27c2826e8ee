/**
 * OpenAI chat completions -> Gemini generateContent, on Vertex AI (GCPVertexAI: Bearer token from src/auth/gcp.ts)
 * and on the Gemini API (GoogleAI: x-goog-api-key from src/auth). Both speak the same request and response bodies;
 * only the path differs (convert-request.ts).
 *
 * @see https://ai.google.dev/api/generate-content
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
 */
import type { Translator } from '../types.js';
import { convertError } from './convert-error.js';
import { convertRequest } from './convert-request.js';
import { convertResponse } from './convert-response.js';
import { GeminiStreamMapper } from './stream-mapper.js';

export const geminiTranslator: Translator = {
  request: (ctx) => convertRequest(ctx),
  response: (ctx, body) => convertResponse(ctx, body),
  error: (_ctx, status, body, headers) => convertError(status, body, headers),
  stream: (ctx) => new GeminiStreamMapper(ctx),
};
