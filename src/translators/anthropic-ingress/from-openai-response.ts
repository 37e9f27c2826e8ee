/**
 * OpenAI chat completion (buffered) -> Anthropic Messages response, for an Anthropic client on an OpenAI backend.
 *
 * The first choice becomes the message: `thinking_blocks` (a vendor field: `{type:"thinking", thinking, signature}`
 * and `{type:"redacted_thinking", data}`) -> `thinking` / `redacted_thinking` blocks with their signatures; without
 * it, `reasoning_content` (or `reasoning`: vLLM, DeepSeek) -> one `thinking` block with an empty signature (the
 * text did not come from Claude), `content` -> a `text` block, `refusal` -> a `text` block,
 * `tool_calls` -> `tool_use` blocks (arguments parsed into `input`; unparsable arguments give `{}` and an
 * `invalid_tool_arguments` warning). Usage: prompt tokens minus cached -> `input_tokens`, cached ->
 * `cache_read_input_tokens`, completion -> `output_tokens`. A body without choices is a 502.
 * @see https://platform.claude.com/docs/en/api/messages
 */
import { asArray, asString, encodeJson, isRecord, safeParseJson } from '../../core/json.js';
import { makeUsage, type TokenUsage } from '../../core/usage.js';
import { convertOpenAIUsage } from '../openai/convert-openai-usage.js';
import type { RequestContext, ResponseResult, Warning } from '../types.js';
import { anthropicUsageOf, mapFinishReason } from './map-finish-reason.js';

type Json = Record<string, unknown>;

/** Anthropic message ids start with `msg_`; the OpenAI id is kept after it for tracing. */
export function messageId(ctx: RequestContext, openAIId: unknown): string {
  const id = typeof openAIId === 'string' && openAIId !== '' ? openAIId : ctx.generateId();
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/** A tool call's `arguments` as an Anthropic `input` object. */
export function toolInputOf(args: unknown, warnings: Warning[]): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  const parsed = safeParseJson(args);
  if (parsed.ok && isRecord(parsed.value)) return parsed.value;
  warnings.push({ kind: 'invalid_tool_arguments', detail: 'tool call arguments are not a JSON object; sent as {}' });
  return {};
}

/**
 * Reasoning as Anthropic blocks: the `thinking_blocks` vendor field (signed thinking and redacted thinking, as our
 * own responses and some gateways send them) when present, else `reasoning_content` / `reasoning` (vLLM,
 * DeepSeek...) as one unsigned thinking block.
 */
export function thinkingBlocksOf(message: Json): Json[] {
  const reasoning = asString(message.reasoning_content) ?? asString(message.reasoning);
  const blocks: Json[] = [];
  const listed = (asArray(message.thinking_blocks) ?? []).filter(isRecord);
  for (const block of listed) {
    if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      blocks.push({ type: 'redacted_thinking', data: block.data });
    } else if (block.type === 'thinking') {
      // A single block sent without its text carries the signature for reasoning_content.
      const text = asString(block.thinking) || (listed.length === 1 ? (reasoning ?? '') : '');
      blocks.push({ type: 'thinking', thinking: text, signature: asString(block.signature) ?? '' });
    }
  }
  if (blocks.length === 0 && reasoning) blocks.push({ type: 'thinking', thinking: reasoning, signature: '' });
  return blocks;
}

function contentOf(message: Json, warnings: Warning[]): { blocks: Json[]; toolCalled: boolean } {
  const blocks: Json[] = thinkingBlocksOf(message);
  const text = asString(message.content);
  if (text) blocks.push({ type: 'text', text });
  const refusal = asString(message.refusal);
  if (refusal) blocks.push({ type: 'text', text: refusal });
  let toolCalled = false;
  for (const call of asArray(message.tool_calls) ?? []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    toolCalled = true;
    blocks.push({
      type: 'tool_use',
      id: asString(call.id) ?? `toolu_${blocks.length}`,
      name: asString(call.function.name) ?? '',
      input: toolInputOf(call.function.arguments, warnings),
    });
  }
  return { blocks, toolCalled };
}

/**
 * `exactUsage`: the usage the backend's own translator read (cache writes included, which OpenAI's usage object
 * has no standard field for); without it, the OpenAI `usage` of the body.
 */
export function openAIResponseToAnthropic(ctx: RequestContext, body: Uint8Array, exactUsage?: TokenUsage): ResponseResult {
  const parsed = safeParseJson(body);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
  const choice = value ? asArray(value.choices)?.[0] : undefined;
  if (!value || !isRecord(choice)) {
    return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream returned a chat completion without choices', type: 'api_error' } };
  }
  const warnings: Warning[] = [];
  const message = isRecord(choice.message) ? choice.message : {};
  const { blocks, toolCalled } = contentOf(message, warnings);
  const mapped = mapFinishReason(choice.finish_reason, toolCalled);
  if (mapped.warning) warnings.push(mapped.warning);
  // A refusal message is a refusal, whatever finish_reason says.
  const stopReason = asString(message.refusal) && !toolCalled ? 'refusal' : mapped.stopReason;
  const usage = exactUsage ?? convertOpenAIUsage(value.usage);
  const model = asString(value.model) || ctx.upstreamModel;
  const out = {
    id: messageId(ctx, value.id),
    type: 'message',
    role: 'assistant',
    model,
    content: blocks,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: anthropicUsageOf(usage ?? makeUsage({})),
  };
  return { body: encodeJson(out), usage, responseModel: model, ...(warnings.length > 0 ? { warnings } : {}) };
}
