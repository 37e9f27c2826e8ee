/** OpenAI embeddings on the providers with their own embedding APIs (OpenAI and Azure use the passthrough). */
export { bedrockEmbeddingsTranslator } from './bedrock.js';
export { googleEmbeddingsTranslator } from './google.js';
