/**
 * OpenAI chat completions -> AWS Bedrock Converse / ConverseStream (schema `AWSBedrock`).
 * Requests are SigV4-signed afterwards by src/auth/aws-sigv4.ts over the final path and body.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 */
import type { Translator, Warning } from '../types.js';
import { bedrockUpstreamRequest, buildConverseBody, conversePath } from './convert-request.js';
import { converseResponseToOpenAI } from './convert-response.js';
import { translateBedrockError } from './convert-error.js';
import { ConverseStream } from './stream-mapper.js';

export const bedrockConverseTranslator: Translator = {
  request(ctx) {
    const warnings: Warning[] = [];
    const body = buildConverseBody(ctx, warnings);
    return bedrockUpstreamRequest(conversePath(ctx.upstreamModel, ctx.stream), body, ctx.stream, warnings);
  },
  response(ctx, body) {
    return converseResponseToOpenAI(ctx, body);
  },
  error(_ctx, status, body, headers) {
    return translateBedrockError(status, body, headers);
  },
  stream(ctx) {
    return new ConverseStream(ctx);
  },
};
