/**
 * The OpenAI Responses API (`POST /v1/responses`) as a client API.
 *
 * OpenAI, AzureOpenAI: passthrough (passthrough.ts), usage read from the terminal event of a stream.
 * Every other backend: stateless requests through the backend's chat translator (pivot.ts).
 */
import { anthropicTranslator, gcpAnthropicTranslator } from '../anthropic/index.js';
import { awsAnthropicTranslator } from '../aws-anthropic/index.js';
import { bedrockConverseTranslator } from '../bedrock/index.js';
import { geminiTranslator } from '../gemini/index.js';
import type { Translator } from '../types.js';
import { responsesViaChat } from './pivot.js';

export { azureOpenAIResponsesTranslator, openAIResponsesTranslator } from './passthrough.js';
export { responsesViaChat } from './pivot.js';

export const responsesToAnthropicTranslator: Translator = responsesViaChat(anthropicTranslator);
export const responsesToGCPAnthropicTranslator: Translator = responsesViaChat(gcpAnthropicTranslator);
export const responsesToAWSAnthropicTranslator: Translator = responsesViaChat(awsAnthropicTranslator);
export const responsesToBedrockConverseTranslator: Translator = responsesViaChat(bedrockConverseTranslator);
export const responsesToGeminiTranslator: Translator = responsesViaChat(geminiTranslator);
