/**
 * Input token counts the service answers itself, when a backend of the model has no counting API:
 * - `POST /anthropic/v1/messages/count_tokens` (OpenAI and Azure backends; see
 *   translators/anthropic-ingress/count-tokens.ts): `{"input_tokens": N}`, the Messages body counted as sent;
 * - `POST /v1/responses/input_tokens` (every backend but OpenAI; see translators/responses/input-tokens.ts):
 *   `{"object": "response.input_tokens", "input_tokens": N}`, the Responses body counted as the chat request it is
 *   served as (the /v1/responses conversion; stateful fields are refused with the same 400).
 * N is a LOCAL ESTIMATE from the tiktoken-based estimator (src/costs/estimate-input.ts), marked with the response
 * header `x-llm-extproc-token-count: estimate`. It can differ from the provider's tokenizer by a few percent.
 * Nothing is charged: every cost is written as 0.
 * @see https://platform.claude.com/docs/en/api/messages/count_tokens
 * @see https://platform.openai.com/docs/api-reference/responses/input-tokens
 */
import type { ModelConfig } from '../config/schema.js';
import { estimateInputTokens } from '../costs/index.js';
import { TOKEN_COUNT_HEADER } from '../translators/anthropic-ingress/count-tokens.js';
import { responsesCountingBody } from '../translators/responses/index.js';
import { zeroCosts } from './accounting.js';
import type { Exchange } from './exchange.js';
import type { ProcessingResponse } from './ext-proc-types.js';
import { immediateJson } from './responses.js';

/** The model name the token estimate is made for: the preferred backend's name for the model, else the client's. */
export function countingModel(model: ModelConfig, requestModel: string): string {
  const eligible = model.backends.filter((ref) => ref.weight > 0);
  const preferred = [...eligible].sort((left, right) => left.priority - right.priority)[0];
  return preferred?.modelNameOverride ?? requestModel;
}

/** The local answer to a token count, for a body whose `model` was already validated. */
export function countTokensReply(exchange: Exchange, model: ModelConfig, requestModel: string, body: Readonly<Record<string, unknown>>): ProcessingResponse {
  const counting = countingModel(model, requestModel);
  const responses = exchange.endpoint?.operation === 'input_tokens';
  // Throws the 400 /v1/responses gives for what a backend without state cannot serve, before anything is answered.
  const counted = responses ? responsesCountingBody(body, counting) : body;
  exchange.localReply = true;
  const inputTokens = estimateInputTokens(counting, counted);
  const answer = responses ? { object: 'response.input_tokens', input_tokens: inputTokens } : { input_tokens: inputTokens };
  return immediateJson(200, JSON.stringify(answer), {
    metadata: zeroCosts(exchange),
    details: 'llm_extproc_count_tokens',
    headers: { [TOKEN_COUNT_HEADER]: 'estimate' },
  });
}
