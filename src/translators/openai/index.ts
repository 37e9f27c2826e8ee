/** The OpenAI passthrough translator (schema OpenAI, also for OpenAI-compatible servers). */
export { createOpenAITranslator, openAITranslator } from './openai-translator.js';
