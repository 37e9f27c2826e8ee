/**
 * OpenAI chat completions -> Claude on Bedrock InvokeModel (schema `AWSAnthropic`).
 *
 * POST /model/{encodeURIComponent(model)}/invoke (or /invoke-with-response-stream) with the Anthropic Messages
 * body built by the Anthropic translator, minus `model` and `stream` (the path and operation carry them), plus
 * `anthropic_version` (backend.apiVersion ?? "bedrock-2023-05-31"). `metadata` (from `user`) is not part of
 * Bedrock's Claude request schema: it is dropped with an `unsupported_parameter` warning.
 * Responses are Anthropic messages (translated by the Anthropic translator); errors are Bedrock errors
 * (`{"message"}` + `x-amzn-errortype`); streams are AWS event streams of base64-wrapped Anthropic events.
 * Requests are SigV4-signed afterwards by src/auth/aws-sigv4.ts.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html
 */
import { buildAnthropicMessagesBody, translateAnthropicResponseBody } from '../anthropic/index.js';
import { translateBedrockError } from '../bedrock/convert-error.js';
import { bedrockUpstreamRequest } from '../bedrock/convert-request.js';
import type { Translator, Warning } from '../types.js';
import { InvokeClaudeStream } from './stream.js';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

export function invokePath(model: string, stream: boolean): string {
  return `/model/${encodeURIComponent(model)}/${stream ? 'invoke-with-response-stream' : 'invoke'}`;
}

export const awsAnthropicTranslator: Translator = {
  request(ctx) {
    const warnings: Warning[] = [];
    const anthropicVersion = ctx.backend.apiVersion ?? BEDROCK_ANTHROPIC_VERSION;
    const body = buildAnthropicMessagesBody(ctx, { includeModel: false, includeStream: false, anthropicVersion, warnings });
    if ('metadata' in body) {
      delete body.metadata;
      warnings.push({ kind: 'unsupported_parameter', detail: 'user is not supported by Claude on Bedrock and was ignored' });
    }
    return bedrockUpstreamRequest(invokePath(ctx.upstreamModel, ctx.stream), body, ctx.stream, warnings);
  },
  response: (ctx, body) => translateAnthropicResponseBody(ctx, body),
  error: (_ctx, status, body, headers) => translateBedrockError(status, body, headers),
  stream: (ctx) => new InvokeClaudeStream(ctx),
};
