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
 * - other blocks (citations, images, ...) are not representable: skipped with a warning;
 * - `serviceTier.type` -> `service_tier` (service-tier.ts).
 * An HTTP 200 without `output.message` (a guardrail hit, a wrong endpoint) is an error (502), never an empty
 * success; usage, if reported, is still counted.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 */
import { asArray, asString, isRecord, safeParseJson } from '../../core/json.js';
import { AssistantReply, completionResult, failedResponse as failure } from '../shared/openai-completion.js';
import type { RequestContext, ResponseResult } from '../types.js';
import { readBedrockMessage } from './convert-error.js';
import { readBedrockUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';
import { reportedServiceTier } from './service-tier.js';

function readReasoning(reply: AssistantReply, reasoningContent: Record<string, unknown>): void {
  const reasoningText = isRecord(reasoningContent.reasoningText) ? reasoningContent.reasoningText : undefined;
  const redacted = asString(reasoningContent.redactedContent);
  if (reasoningText) {
    const signature = asString(reasoningText.signature);
    reply.thinking(asString(reasoningText.text) ?? '', signature ? signature : undefined);
  } else if (redacted !== undefined) {
    reply.redactedThinking(redacted);
  }
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

  const reply = new AssistantReply();
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') {
      reply.text(block.text);
    } else if (isRecord(block.toolUse)) {
      const toolUse = block.toolUse;
      reply.toolCall(asString(toolUse.toolUseId) ?? `call_${ctx.generateId()}`, asString(toolUse.name) ?? '', toolUse.input ?? {});
    } else if (isRecord(block.reasoningContent)) {
      readReasoning(reply, block.reasoningContent);
    } else {
      reply.warn({ kind: 'unsupported_content_block', detail: `Bedrock content block ${JSON.stringify(Object.keys(block))} was not translated` });
    }
  }

  const mapped = mapStopReason(json.stopReason, reply.toolCalled);
  if (mapped.warning) reply.warn(mapped.warning);
  const serviceTier = reportedServiceTier(json.serviceTier);
  return completionResult(ctx, reply, {
    id: `chatcmpl-${ctx.generateId()}`,
    model: ctx.upstreamModel,
    finishReason: mapped.finishReason,
    usage,
    ...(serviceTier === undefined ? {} : { serviceTier }),
  });
}
