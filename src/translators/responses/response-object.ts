/**
 * The Responses `response` object the chat pivot answers with (buffered, and inside stream events), and the
 * Responses usage shape both ways.
 *
 * - ids: `resp_`, `msg_`, `fc_`, `rs_` + the context's generated id (no upstream id is reused: each kind of item
 *   needs its own); function call `call_id`s are the provider's tool call ids, so a tool loop can answer them.
 * - request fields the API echoes (instructions, max_output_tokens, parallel_tool_calls, reasoning, temperature,
 *   text, tool_choice, tools, top_p, user, metadata) are copied from the request with the API's defaults;
 *   `store` is always false (nothing is stored), `previous_response_id` and `conversation` null.
 * - `finish_reason`: length -> status `incomplete`, `incomplete_details.reason: "max_output_tokens"`;
 *   content_filter -> `incomplete`, reason `content_filter`; anything else -> `completed`.
 * @see https://platform.openai.com/docs/api-reference/responses/object
 */
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';
import type { RequestContext } from '../types.js';

type Json = Record<string, unknown>;

/** An id with the context's generated id as suffix (`chatcmpl-` stripped from the production generator's ids). */
export function itemId(ctx: RequestContext, prefix: 'resp' | 'msg' | 'fc' | 'rs'): string {
  return `${prefix}_${ctx.generateId().replace(/^chatcmpl-/, '')}`;
}

/** TokenUsage -> Responses `usage`. */
export function responsesUsageOf(usage: TokenUsage): Json {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.totalTokens,
  };
}

/**
 * Responses `usage` -> TokenUsage. `input_tokens` includes cached tokens and `output_tokens` reasoning tokens, as
 * in this project's convention. Undefined when there is no usage object with a count.
 * @see https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage
 */
export function convertResponsesUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = tokenCount(value.input_tokens);
  const output = tokenCount(value.output_tokens);
  const total = tokenCount(value.total_tokens);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  const inputDetails = isRecord(value.input_tokens_details) ? value.input_tokens_details : {};
  const outputDetails = isRecord(value.output_tokens_details) ? value.output_tokens_details : {};
  return makeUsage({
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    ...(total === undefined ? {} : { totalTokens: total }),
    cachedInputTokens: tokenCount(inputDetails.cached_tokens) ?? 0,
    reasoningTokens: tokenCount(outputDetails.reasoning_tokens) ?? 0,
  });
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** Status and incomplete_details for a chat finish reason. */
export function statusOf(finishReason: string | undefined): { status: ResponseStatus; incomplete: Json | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

function echo(body: Readonly<Json>, key: string, fallback: unknown): unknown {
  const value = body[key];
  return value === undefined ? fallback : value;
}

/** What the summary flag says about provider reasoning: `summary` parts when the client asked for a summary. */
export function wantsReasoningSummary(body: Readonly<Json>): boolean {
  return isRecord(body.reasoning) && asString(body.reasoning.summary) !== undefined;
}

export interface ResponseParts {
  readonly id: string;
  readonly model: string;
  readonly createdAt: number;
  readonly status: ResponseStatus;
  readonly output: readonly Json[];
  readonly usage: TokenUsage | undefined;
  readonly incomplete?: Json | null;
  readonly error?: Json | null;
}

/** A whole `response` object. */
export function responseObject(ctx: RequestContext, parts: ResponseParts): Json {
  const body = ctx.body;
  const reasoning = isRecord(body.reasoning) ? body.reasoning : {};
  return {
    id: parts.id,
    object: 'response',
    created_at: parts.createdAt,
    status: parts.status,
    background: false,
    error: parts.error ?? null,
    incomplete_details: parts.incomplete ?? null,
    instructions: echo(body, 'instructions', null),
    max_output_tokens: echo(body, 'max_output_tokens', null),
    model: parts.model,
    output: parts.output,
    parallel_tool_calls: echo(body, 'parallel_tool_calls', true),
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    service_tier: echo(body, 'service_tier', 'auto'),
    store: false,
    temperature: echo(body, 'temperature', 1),
    text: echo(body, 'text', { format: { type: 'text' } }),
    tool_choice: echo(body, 'tool_choice', 'auto'),
    tools: echo(body, 'tools', []),
    top_p: echo(body, 'top_p', 1),
    truncation: 'disabled',
    usage: parts.usage ? responsesUsageOf(parts.usage) : null,
    user: echo(body, 'user', null),
    metadata: echo(body, 'metadata', {}),
  };
}

/** An assistant message item with one output_text (or refusal) part per entry. */
export function messageItem(id: string, content: readonly Json[], status: 'in_progress' | 'completed' | 'incomplete'): Json {
  return { id, type: 'message', status, role: 'assistant', content };
}

export function outputTextPart(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed' | 'incomplete'): Json {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/**
 * A reasoning item: the provider's reasoning text as `summary` parts (summary asked for) or `content`; signed
 * thinking blocks (Claude) in `encrypted_content`, so that a client sending the item back continues the turn.
 */
export function reasoningItem(id: string, text: string, asSummary: boolean, blocks: readonly Json[] = []): Json {
  const item = asSummary
    ? { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] }
    : { id, type: 'reasoning', summary: [], content: text === '' ? [] : [{ type: 'reasoning_text', text }] };
  return blocks.length > 0 ? { ...item, encrypted_content: encodeThinkingBlocks(blocks) } : item;
}

/** Marks encrypted_content this service wrote (signed thinking blocks as base64 JSON), not OpenAI's own. */
const THINKING_PREFIX = 'llm-extproc.thinking.v1:';

/** Signed thinking blocks (the chat vendor field `thinking_blocks`) as opaque `encrypted_content`. */
export function encodeThinkingBlocks(blocks: readonly Json[]): string {
  return THINKING_PREFIX + Buffer.from(JSON.stringify(blocks), 'utf8').toString('base64');
}

/** The thinking blocks in encrypted_content this service wrote; undefined for anything else. */
export function decodeThinkingBlocks(value: unknown): Json[] | undefined {
  if (typeof value !== 'string' || !value.startsWith(THINKING_PREFIX)) return undefined;
  const parsed = safeParseJson(Buffer.from(value.slice(THINKING_PREFIX.length), 'base64').toString('utf8'));
  return parsed.ok && Array.isArray(parsed.value) && parsed.value.every(isRecord) ? parsed.value : undefined;
}
