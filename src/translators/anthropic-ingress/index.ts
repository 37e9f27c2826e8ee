/**
 * The Anthropic Messages API as a client API (`POST /anthropic/v1/messages`: Claude Code, the Anthropic SDKs).
 *
 * Anthropic, GCPAnthropic, AWSAnthropic: the native body goes to Claude (passthrough.ts, native-request.ts);
 *   responses and streams reach the client as Claude sent them (Bedrock's event stream re-framed as SSE).
 * Every other backend (OpenAI, AzureOpenAI, AWSBedrock, GCPVertexAI, GoogleAI): through the OpenAI chat pivot
 *   (pivot.ts) and the backend's own OpenAI translator, one representation for all of them.
 * Errors from every backend reach the client as Anthropic error JSON with the upstream status (anthropic-error.ts).
 */
import { azureOpenAITranslator } from '../azure-openai/index.js';
import { bedrockConverseTranslator } from '../bedrock/index.js';
import { geminiTranslator } from '../gemini/index.js';
import { openAITranslator } from '../openai/index.js';
import type { Translator } from '../types.js';
import { bedrockPivotOptions, geminiPivotOptions, viaOpenAIChat } from './pivot.js';

export { anthropicPassthroughTranslator, awsAnthropicPassthroughTranslator, gcpAnthropicPassthroughTranslator } from './passthrough.js';
export { BEDROCK_BETA_FLAGS, bedrockBetaFlags } from './native-request.js';
export { buildOpenAIChatBody } from './to-openai-request.js';
export { viaOpenAIChat } from './pivot.js';

export const anthropicToOpenAITranslator: Translator = viaOpenAIChat(openAITranslator);
export const anthropicToAzureOpenAITranslator: Translator = viaOpenAIChat(azureOpenAITranslator);
export const anthropicToBedrockConverseTranslator: Translator = viaOpenAIChat(bedrockConverseTranslator, bedrockPivotOptions);
export const anthropicToGeminiTranslator: Translator = viaOpenAIChat(geminiTranslator, geminiPivotOptions);
