/**
 * A Bedrock Converse response -> an OpenAI chat.completion.
 *
 * - text blocks -> `content` (joined; null when the turn only called tools);
 * - toolUse blocks -> `tool_calls` (input serialised as the arguments string); finish_reason is then
 *   "tool_calls" whatever stopReason says;
 * - reasoningContent -> `reasoning_content` (plain string) plus the vendor field `thinking_blocks`, as the
 *   Anthropic translator returns them: `{"type":"thinking","thinking","signature"}` for signed reasoning text,
 *   `{"type":"redacted_thinking","data"}` for redacted content. Sent back on the next turn they become the same
 *   reasoningContent blocks (convert-messages.ts). Unsigned reasoning (non-Claude models) is text only;
 * - other blocks (citations, images, ...) are not representable: skipped with a warning.
 * An HTTP 200 without `output.message` (a guardrail hit, a wrong endpoint) is an error (502), never an empty
 * success; usage, if reported, is still counted.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { asArray, asString, encodeJson, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, ResponseResult, Warning } from '../types.js';
import { readBedrockMessage } from './convert-error.js';
import { readBedrockUsage, toOpenAIUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

function failure(error: ErrorShape, usage: TokenUsage | undefined): ResponseResult {
  return { body: utf8(openAIErrorBody(error)), usage, error };
}

export function converseResponseToOpenAI(ctx: RequestContext, body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) {
    return failure({ status: 502, message: 'Bedrock returned a body that is not a Converse response', type: 'upstream_error' }, undefined);
  }
  const json = parsed.value;
  const usage = readBedrockUsage(json.usage);
  const output = isRecord(json.output) ? json.output : undefined;
  const message = output && isRecord(output.message) ? output.message : undefined;
  const content = message ? asArray(message.content) : undefined;
  if (content === undefined) {
    const reason = asString(json.stopReason);
    const detail = readBedrockMessage(json);
    const text = `Bedrock returned no output${reason ? ` (stopReason: ${reason})` : ''}${detail ? `: ${detail}` : ''}`;
    return failure({ status: 502, message: text, type: 'upstream_error' }, usage);
  }

  const warnings: Warning[] = [];
  const texts: string[] = [];
  const reasoning: string[] = [];
  const thinkingBlocks: Record<string, unknown>[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') {
      texts.push(block.text);
    } else if (isRecord(block.toolUse)) {
      const toolUse = block.toolUse;
      toolCalls.push({
        id: asString(toolUse.toolUseId) ?? `call_${ctx.generateId()}`,
        type: 'function',
        function: { name: asString(toolUse.name) ?? '', arguments: JSON.stringify(toolUse.input ?? {}) },
      });
    } else if (isRecord(block.reasoningContent)) {
      const reasoningContent = block.reasoningContent;
      const reasoningText = isRecord(reasoningContent.reasoningText) ? reasoningContent.reasoningText : undefined;
      const redacted = asString(reasoningContent.redactedContent);
      if (reasoningText) {
        const text = asString(reasoningText.text) ?? '';
        const signature = asString(reasoningText.signature);
        reasoning.push(text);
        if (signature) thinkingBlocks.push({ type: 'thinking', thinking: text, signature });
      } else if (redacted !== undefined) {
        thinkingBlocks.push({ type: 'redacted_thinking', data: redacted });
      }
    } else {
      warnings.push({ kind: 'unsupported_content_block', detail: `Bedrock content block ${JSON.stringify(Object.keys(block))} was not translated` });
    }
  }

  const mapped = mapStopReason(json.stopReason, toolCalls.length > 0);
  if (mapped.warning) warnings.push(mapped.warning);
  const reply: Record<string, unknown> = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '',
  };
  if (reasoning.length > 0) reply.reasoning_content = reasoning.join('');
  if (thinkingBlocks.length > 0) reply.thinking_blocks = thinkingBlocks;
  if (toolCalls.length > 0) reply.tool_calls = toolCalls;

  const model = ctx.upstreamModel;
  const completion: Record<string, unknown> = {
    id: `chatcmpl-${ctx.generateId()}`,
    object: 'chat.completion',
    created: Math.floor(ctx.now() / 1000),
    model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: mapped.finishReason }],
  };
  if (usage) completion.usage = toOpenAIUsage(usage);
  const result: ResponseResult = { body: encodeJson(completion), usage, responseModel: model };
  return warnings.length > 0 ? { ...result, warnings } : result;
}
