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
import { asArray, asString, isRecord, safeParseJson } from '../../core/json.js';
import { AssistantReply, completionResult, failedResponse as failure } from '../shared/openai-completion.js';
import type { RequestContext, ResponseResult } from '../types.js';
import { readAnthropicError, statusForAnthropicErrorType } from './convert-error.js';
import { readAnthropicUsage, toTokenUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

export function anthropicResponseToOpenAI(json: unknown, ctx: RequestContext): ResponseResult {
  if (!isRecord(json)) return failure({ status: 502, message: 'upstream returned a body that is not an Anthropic message', type: 'upstream_error' });
  if (json.type === 'error') {
    const found = readAnthropicError(json);
    return failure({ status: statusForAnthropicErrorType(found?.type), message: found?.message ?? 'upstream error', type: found?.type ?? 'api_error' });
  }
  const content = asArray(json.content);
  if (content === undefined) return failure({ status: 502, message: 'upstream returned a message without content', type: 'upstream_error' });

  const reply = new AssistantReply();
  for (const block of content) {
    if (!isRecord(block)) continue;
    switch (block.type) {
      case 'text':
        reply.text(asString(block.text) ?? '');
        break;
      case 'tool_use':
        reply.toolCall(asString(block.id) ?? `call_${ctx.generateId()}`, asString(block.name) ?? '', isRecord(block.input) ? block.input : {});
        break;
      case 'thinking':
        reply.thinking(asString(block.thinking) ?? '', asString(block.signature) ?? '');
        break;
      case 'redacted_thinking':
        reply.redactedThinking(asString(block.data) ?? '');
        break;
      default:
        reply.warn({ kind: 'unsupported_content_block', detail: `Anthropic content block "${String(block.type)}" was not translated` });
    }
  }

  const mapped = mapStopReason(json.stop_reason, reply.toolCalled);
  if (mapped.warning) reply.warn(mapped.warning);
  const usage = toTokenUsage(readAnthropicUsage(json.usage));
  const model = asString(json.model) ?? ctx.upstreamModel;
  const id = asString(json.id) ?? `chatcmpl-${ctx.generateId()}`;
  return completionResult(ctx, reply, { id, model, finishReason: mapped.finishReason, usage });
}

/** Parses a decoded 2xx body and translates it; a body that is not JSON is a 502. */
export function translateAnthropicResponseBody(ctx: RequestContext, body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  if (!parsed.ok) return failure({ status: 502, message: 'upstream returned a body that is not JSON', type: 'upstream_error' });
  return anthropicResponseToOpenAI(parsed.value, ctx);
}
