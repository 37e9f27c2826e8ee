/**
 * Azure OpenAI: the OpenAI wire format on deployment-style paths. Everything but the path is the OpenAI
 * translator's. Azure's first stream chunk (`choices: []`, `model: ""`, `id: ""`, prompt filter results) carries
 * no usage and an empty model, which the OpenAI stream mapper already ignores for both.
 */
import { createOpenAITranslator } from '../openai/openai-translator.js';
import { azureOpenAIPath } from './azure-openai-path.js';

export { DEFAULT_AZURE_API_VERSION, azureOpenAIPath } from './azure-openai-path.js';

export const azureOpenAITranslator = createOpenAITranslator({ path: azureOpenAIPath });
