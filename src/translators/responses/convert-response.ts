/**
 * A chat completion (the backend translator's answer) -> a Responses `response` object.
 *
 * Output items, in the order a Responses model writes them: a `reasoning` item for `reasoning_content` (signed
 * `thinking_blocks` in its `encrypted_content`), a
 * `message` item for `content` (an `output_text` part) and/or `refusal` (a `refusal` part), then one
 * `function_call` item per tool call (call_id = the tool call id). Only the first choice is read. Usage is the
 * backend translator's own reading of the provider's usage (cache and reasoning tokens included).
 * @see https://platform.openai.com/docs/api-reference/responses/object
 */
import { asArray, asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, ResponseResult } from '../types.js';
import { functionCallItem, itemId, messageItem, outputTextPart, reasoningItem, responseObject, statusOf, wantsReasoningSummary } from './response-object.js';

type Json = Record<string, unknown>;

function outputOf(ctx: RequestContext, message: Json): Json[] {
  const output: Json[] = [];
  const reasoning = asString(message.reasoning_content) ?? asString(message.reasoning) ?? '';
  const blocks = (asArray(message.thinking_blocks) ?? []).filter(isRecord);
  if (reasoning !== '' || blocks.length > 0) output.push(reasoningItem(itemId(ctx, 'rs'), reasoning, wantsReasoningSummary(ctx.body), blocks));
  const parts: Json[] = [];
  const content = asString(message.content);
  if (content) parts.push(outputTextPart(content));
  const refusal = asString(message.refusal);
  if (refusal) parts.push({ type: 'refusal', refusal });
  if (parts.length > 0) output.push(messageItem(itemId(ctx, 'msg'), parts, 'completed'));
  for (const call of asArray(message.tool_calls) ?? []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    output.push(functionCallItem(itemId(ctx, 'fc'), asString(call.id) ?? '', asString(call.function.name) ?? '', asString(call.function.arguments) ?? '', 'completed'));
  }
  return output;
}

/** The Responses body for a chat completion body; `usage` is the backend translator's. */
export function chatCompletionToResponse(ctx: RequestContext, chatBody: Uint8Array, usage: TokenUsage | undefined): ResponseResult {
  const parsed = safeParseJson(chatBody);
  const completion = parsed.ok && isRecord(parsed.value) ? parsed.value : {};
  const choice = (asArray(completion.choices) ?? []).find(isRecord) ?? {};
  const message = isRecord(choice.message) ? choice.message : {};
  const { status, incomplete } = statusOf(asString(choice.finish_reason));
  const model = asString(completion.model) || ctx.upstreamModel;
  const created = typeof completion.created === 'number' ? completion.created : Math.floor(ctx.now() / 1000);
  const response = responseObject(ctx, { id: itemId(ctx, 'resp'), model, createdAt: created, status, incomplete, output: outputOf(ctx, message), usage });
  return { body: utf8(JSON.stringify(response)), usage, responseModel: model };
}
