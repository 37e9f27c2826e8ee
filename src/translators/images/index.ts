/**
 * Image generation (`POST /v1/images/generations`) on OpenAI and Azure OpenAI: the OpenAI passthrough (model
 * override, path, credentials), with usage read from the answer where the model reports it. gpt-image models
 * answer `usage: {input_tokens, output_tokens, total_tokens, input_tokens_details: {text_tokens, image_tokens}}`;
 * dall-e models report none, and nothing is estimated for them (an image is not text to count).
 *
 * Streamed image generation (`stream: true`, partial images) is not served: a 400 says so before anything is sent.
 * @see https://platform.openai.com/docs/api-reference/images/create
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/reference#image-generation
 */
import { GatewayError } from '../../core/errors.js';
import { isRecord, safeParseJson } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';
import { azureOpenAIPath } from '../azure-openai/azure-openai-path.js';
import { openAIPath } from '../openai/build-openai-request.js';
import { convertOpenAIResponse, responseModelOf } from '../openai/convert-openai-response.js';
import { createOpenAITranslator } from '../openai/openai-translator.js';
import type { RequestContext, ResponseResult, Translator } from '../types.js';

/** `usage` of an images answer -> TokenUsage (undefined when the model reports none). */
export function convertImagesUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = tokenCount(value.input_tokens);
  const output = tokenCount(value.output_tokens);
  const total = tokenCount(value.total_tokens);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  return makeUsage({ inputTokens: input ?? 0, outputTokens: output ?? 0, ...(total === undefined ? {} : { totalTokens: total }) });
}

function imagesResponse(body: Uint8Array): ResponseResult {
  const base = convertOpenAIResponse(body);
  if (base.error) return base;
  const parsed = safeParseJson(body);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value : {};
  const usage = convertImagesUsage(value.usage);
  const model = responseModelOf(value);
  return { body: undefined, usage, ...(model === undefined ? {} : { responseModel: model }) };
}

function imagesTranslator(path: (ctx: RequestContext) => string): Translator {
  const base = createOpenAITranslator({ path });
  return {
    ...base,
    request: (ctx) => {
      if (ctx.body.stream === true) {
        throw new GatewayError('ERR_MALFORMED_REQUEST', 'streamed image generation (`stream: true`) is not supported by this gateway; send the request without `stream`', { param: 'stream' });
      }
      return base.request(ctx);
    },
    response: (_ctx, body) => imagesResponse(body),
  };
}

export const openAIImagesTranslator = imagesTranslator((ctx) => openAIPath(ctx.backend, ctx.operation));
export const azureOpenAIImagesTranslator = imagesTranslator(azureOpenAIPath);
