/**
 * An Anthropic Messages response -> an OpenAI chat.completion.
 *
 * - text blocks -> `content` (joined; null when the turn only called tools);
 * - tool_use blocks -> `tool_calls` (input serialised as the arguments string); finish_reason is then
 *   "tool_calls" whatever stop_reason says;
 * - thinking blocks -> `reasoning_content` (plain string) plus the vendor field `thinking_blocks`:
 *   `[{"type":"thinking","thinking","signature"} | {"type":"redacted_thinking","data"}]`, in order. A client
 *   that sends the assistant message back with `thinking_blocks` gets the blocks (signatures unchanged) sent
 *   to Claude again (see convert-messages.ts), which multi-turn tool use with thinking requires;
 * - other block types (server tools, ...) are not representable: skipped with a warning.
 * A 2xx that is not a message (an `error` object, missing `content`) is reported as an error.
 * @see https://platform.claude.com/docs/en/api/messages
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { asArray, asString, encodeJson, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import type { RequestContext, ResponseResult, Warning } from '../types.js';
import { readAnthropicError, statusForAnthropicErrorType } from './convert-error.js';
import { readAnthropicUsage, toOpenAIUsage, toTokenUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

function failure(error: ErrorShape): ResponseResult {
  return { body: utf8(openAIErrorBody(error)), usage: undefined, error };
}

export function anthropicResponseToOpenAI(json: unknown, ctx: RequestContext): ResponseResult {
  if (!isRecord(json)) return failure({ status: 502, message: 'upstream returned a body that is not an Anthropic message', type: 'upstream_error' });
  if (json.type === 'error') {
    const found = readAnthropicError(json);
    return failure({ status: statusForAnthropicErrorType(found?.type), message: found?.message ?? 'upstream error', type: found?.type ?? 'api_error' });
  }
  const content = asArray(json.content);
  if (content === undefined) return failure({ status: 502, message: 'upstream returned a message without content', type: 'upstream_error' });

  const warnings: Warning[] = [];
  const texts: string[] = [];
  const reasoning: string[] = [];
  const thinkingBlocks: Record<string, unknown>[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    switch (block.type) {
      case 'text':
        texts.push(asString(block.text) ?? '');
        break;
      case 'tool_use':
        toolCalls.push({
          id: asString(block.id) ?? `call_${ctx.generateId()}`,
          type: 'function',
          function: { name: asString(block.name) ?? '', arguments: JSON.stringify(isRecord(block.input) ? block.input : {}) },
        });
        break;
      case 'thinking': {
        const thinking = asString(block.thinking) ?? '';
        reasoning.push(thinking);
        thinkingBlocks.push({ type: 'thinking', thinking, signature: asString(block.signature) ?? '' });
        break;
      }
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: asString(block.data) ?? '' });
        break;
      default:
        warnings.push({ kind: 'unsupported_content_block', detail: `Anthropic content block "${String(block.type)}" was not translated` });
    }
  }

  const mapped = mapStopReason(json.stop_reason, toolCalls.length > 0);
  if (mapped.warning) warnings.push(mapped.warning);
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '',
  };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;

  const usage = toTokenUsage(readAnthropicUsage(json.usage));
  const model = asString(json.model) ?? ctx.upstreamModel;
  const completion = {
    id: asString(json.id) ?? `chatcmpl-${ctx.generateId()}`,
    object: 'chat.completion',
    created: Math.floor(ctx.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: mapped.finishReason }],
    usage: toOpenAIUsage(usage),
  };
  const result: ResponseResult = { body: encodeJson(completion), usage, responseModel: model };
  return warnings.length > 0 ? { ...result, warnings } : result;
}

/** Parses a decoded 2xx body and translates it; a body that is not JSON is a 502. */
export function translateAnthropicResponseBody(ctx: RequestContext, body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  if (!parsed.ok) return failure({ status: 502, message: 'upstream returned a body that is not JSON', type: 'upstream_error' });
  return anthropicResponseToOpenAI(parsed.value, ctx);
}
