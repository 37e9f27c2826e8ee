/** Registers the OpenAI passthrough translator (schema OpenAI, also for OpenAI-compatible servers). */
import { registerTranslator } from '../registry.js';
import { openAITranslator } from './openai-translator.js';

export { createOpenAITranslator, openAITranslator } from './openai-translator.js';

registerTranslator('openai', ['chat', 'completion', 'embeddings'], ['OpenAI'], openAITranslator);
