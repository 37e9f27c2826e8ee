/**
 * The Anthropic Messages API as a client API (`POST /anthropic/v1/messages`: Claude Code, the Anthropic SDKs).
 *
 * Anthropic, GCPAnthropic, AWSAnthropic: the native body goes to Claude (passthrough.ts, native-request.ts);
 *   responses and streams reach the client as Claude sent them (Bedrock's event stream re-framed as SSE).
 * OpenAI, AzureOpenAI: reverse translation to chat completions (to-openai-*.ts) and back (from-openai-*.ts).
 * Errors from every backend reach the client as Anthropic error JSON with the upstream status (anthropic-error.ts).
 */
import type { Translator } from '../types.js';
import { anthropicClientError } from './anthropic-error.js';
import { openAIResponseToAnthropic } from './from-openai-response.js';
import { OpenAIToAnthropicStream } from './from-openai-stream.js';
import { anthropicPassthroughTranslator, awsAnthropicPassthroughTranslator, gcpAnthropicPassthroughTranslator } from './passthrough.js';
import { azureChatRequest, openAIChatRequest } from './to-openai-request.js';

export { anthropicPassthroughTranslator, awsAnthropicPassthroughTranslator, gcpAnthropicPassthroughTranslator } from './passthrough.js';
export { BEDROCK_BETA_FLAGS, bedrockBetaFlags } from './native-request.js';
export { buildOpenAIChatBody } from './to-openai-request.js';

const openAIShared: Omit<Translator, 'request'> = {
  response: (ctx, body) => openAIResponseToAnthropic(ctx, body),
  error: (_ctx, status, body, headers) => anthropicClientError(status, body, headers),
  stream: (ctx) => new OpenAIToAnthropicStream(ctx),
  streamContentType: 'text/event-stream',
};

export const anthropicToOpenAITranslator: Translator = { ...openAIShared, request: openAIChatRequest };
export const anthropicToAzureOpenAITranslator: Translator = { ...openAIShared, request: azureChatRequest };
