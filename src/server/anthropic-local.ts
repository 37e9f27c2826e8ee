/**
 * The Anthropic endpoints the service answers itself:
 * - `GET /anthropic/v1/models`: the configured model names in Anthropic's list shape (one page, no pagination).
 * - `POST /anthropic/v1/messages/count_tokens`, when a backend of the model has no counting API (OpenAI and Azure;
 *   see translators/anthropic-ingress/count-tokens.ts): `{"input_tokens": N}`, where N is a LOCAL
 *   ESTIMATE from the tiktoken-based estimator (src/costs/estimate-input.ts), marked with the response header
 *   `x-llm-extproc-token-count: estimate`. It can differ from the provider's tokenizer by a few percent.
 * @see https://platform.claude.com/docs/en/api/models/list
 * @see https://platform.claude.com/docs/en/api/messages/count_tokens
 */
import type { ModelConfig } from '../config/schema.js';
import { estimateInputTokens } from '../costs/index.js';
import { zeroCosts } from './accounting.js';
import type { Exchange } from './exchange.js';
import type { ProcessingResponse } from './ext-proc-types.js';
import { immediateJson } from './responses.js';
import { TOKEN_COUNT_HEADER } from '../translators/anthropic-ingress/count-tokens.js';

/** `{data: [{type: "model", id, display_name, created_at}], first_id, last_id, has_more: false}` */
export function anthropicModelsList(modelNames: Iterable<string>, createdAt: Date): string {
  const created = createdAt.toISOString();
  const data = [...modelNames].map((id) => ({ type: 'model', id, display_name: id, created_at: created }));
  return JSON.stringify({ data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
}

/** The model name the token estimate is made for: the preferred backend's name for the model, else the client's. */
export function countingModel(model: ModelConfig, requestModel: string): string {
  const eligible = model.backends.filter((ref) => ref.weight > 0);
  const preferred = [...eligible].sort((left, right) => left.priority - right.priority)[0];
  return preferred?.modelNameOverride ?? requestModel;
}

/** The local answer to count_tokens, for a body whose `model` was already validated. */
export function countTokensReply(exchange: Exchange, model: ModelConfig, requestModel: string, body: Readonly<Record<string, unknown>>): ProcessingResponse {
  exchange.localReply = true;
  const inputTokens = estimateInputTokens(countingModel(model, requestModel), body);
  return immediateJson(200, JSON.stringify({ input_tokens: inputTokens }), {
    metadata: zeroCosts(exchange),
    details: 'llm_extproc_count_tokens',
    headers: { [TOKEN_COUNT_HEADER]: 'estimate' },
  });
}
