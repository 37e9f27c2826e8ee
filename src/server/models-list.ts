/**
 * `GET /v1/models`: the configured models in OpenAI's list shape, each with the endpoints it serves.
 *
 * `{object: "list", data: [{id, object: "model", created, owned_by: "llm-extproc", endpoints: ["/v1/chat/completions",
 * ...]}]}`. `endpoints` is an extra field (OpenAI clients ignore fields they do not know): the client paths the
 * translator table serves on every backend the model may use (weight above 0), so any attempt, fallbacks
 * included, can serve them. It is decided by each backend's schema, not by the provider's model: a Bedrock chat
 * model is listed with /v1/embeddings because the AWSBedrock schema serves embeddings for embedding models.
 * The token counts are listed with the API they count for (count_tokens with Messages, /v1/responses/input_tokens
 * with Responses): they are answered locally when a backend cannot count.
 * @see https://platform.openai.com/docs/api-reference/models/list
 */
import type { RuntimeConfig } from '../config/load.js';
import type { ModelConfig } from '../config/schema.js';
import { lookupTranslator, type TranslatorTable } from '../translators/table.js';
import { operationEndpoints } from './endpoints.js';

/** The operation a token count counts for: Messages for count_tokens, Responses for input_tokens. */
function countedOperation(operation: Parameters<typeof lookupTranslator>[2]): Parameters<typeof lookupTranslator>[2] {
  return operation === 'input_tokens' ? 'responses' : 'messages';
}

/** The client paths every backend of `model` serves, in the endpoint table's order. */
export function servedEndpoints(config: Pick<RuntimeConfig, 'backends'>, translators: TranslatorTable, model: ModelConfig): string[] {
  const schemas = model.backends.filter((ref) => ref.weight > 0).map((ref) => config.backends.get(ref.backend)?.schema);
  if (schemas.length === 0) return [];
  const serves = (clientApi: 'openai' | 'anthropic', operation: Parameters<typeof lookupTranslator>[2]) =>
    schemas.every((schema) => schema !== undefined && lookupTranslator(translators, clientApi, operation, schema) !== undefined);
  return operationEndpoints()
    .filter(({ endpoint }) => serves(endpoint.clientApi, endpoint.local === 'count_tokens' ? countedOperation(endpoint.operation) : endpoint.operation))
    .map(({ path }) => path);
}

export function openAIModelsList(config: Pick<RuntimeConfig, 'backends' | 'models'>, translators: TranslatorTable, now: Date): string {
  const created = Math.floor(now.getTime() / 1000);
  const data = [...config.models].map(([id, model]) => ({ id, object: 'model', created, owned_by: 'llm-extproc', endpoints: servedEndpoints(config, translators, model) }));
  return JSON.stringify({ object: 'list', data });
}
