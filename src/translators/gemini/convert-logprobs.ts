/**
 * Gemini log probabilities <-> OpenAI `logprobs`.
 *
 * Request: `logprobs: true` -> `generationConfig.responseLogprobs: true`; `top_logprobs: n` -> `generationConfig.logprobs: n`
 * (Gemini, like OpenAI, only returns alternatives when log probabilities are on; `top_logprobs` without
 * `logprobs: true` is dropped with a warning).
 * Response: `candidate.logprobsResult` -> `choice.logprobs = {content: [...], refusal: null}`, one entry per
 * chosen token (`chosenCandidates[i]`) with its alternatives (`topCandidates[i].candidates`), in buffered
 * responses and in each stream chunk (the entries of that event's tokens). `bytes` are the token's UTF-8 bytes.
 * @see https://ai.google.dev/api/generate-content#generationconfig (responseLogprobs, logprobs)
 * @see https://ai.google.dev/api/generate-content#LogprobsResult
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
import { asArray, asString, isRecord } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { Warning } from '../types.js';
import type { JsonObject } from './gemini-types.js';

/** OpenAI's cap on `top_logprobs`; Gemini documents 1..20 too. */
const MAX_TOP_LOGPROBS = 20;

/** Sets responseLogprobs / logprobs on the generationConfig being built. */
export function convertLogprobsRequest(body: Readonly<JsonObject>, config: JsonObject, warnings: Warning[]): void {
  const wanted = body.logprobs === true;
  const top = body.top_logprobs;
  if (top !== undefined && top !== null) {
    if (typeof top !== 'number' || !Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS) {
      throw new GatewayError('ERR_INVALID_REQUEST', `top_logprobs must be an integer between 0 and ${MAX_TOP_LOGPROBS}`, { param: 'top_logprobs' });
    }
    if (!wanted) warnings.push({ kind: 'unsupported_parameter', detail: 'top_logprobs needs logprobs: true and was ignored' });
  }
  if (!wanted) return;
  config.responseLogprobs = true;
  if (typeof top === 'number' && top > 0) config.logprobs = top;
}

interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

const encoder = new TextEncoder();

function tokenEntry(value: unknown): TokenLogprob | undefined {
  if (!isRecord(value)) return undefined;
  const token = asString(value.token) ?? '';
  const logprob = typeof value.logProbability === 'number' ? value.logProbability : undefined;
  if (logprob === undefined) return undefined;
  return { token, logprob, bytes: [...encoder.encode(token)] };
}

/** OpenAI `choice.logprobs` for a candidate's `logprobsResult`, or undefined when it has none. */
export function openAILogprobs(result: unknown): JsonObject | undefined {
  if (!isRecord(result)) return undefined;
  const chosen = asArray(result.chosenCandidates) ?? [];
  const top = asArray(result.topCandidates) ?? [];
  const content: JsonObject[] = [];
  for (const [position, raw] of chosen.entries()) {
    const entry = tokenEntry(raw);
    if (!entry) continue;
    const alternatives = isRecord(top[position]) ? (asArray(top[position].candidates) ?? []) : [];
    const topLogprobs = alternatives.map(tokenEntry).filter((item): item is TokenLogprob => item !== undefined);
    content.push({ ...entry, top_logprobs: topLogprobs });
  }
  return { content, refusal: null };
}
