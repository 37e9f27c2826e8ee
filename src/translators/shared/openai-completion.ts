/**
 * A buffered provider answer -> an OpenAI `chat.completion`, for translators that read the answer block by block
 * (Anthropic, Bedrock Converse):
 * - text -> `content` (joined; null when the turn only called tools, "" when empty);
 * - tool calls -> `tool_calls`; the finish reason is then `tool_calls` (see finish-reasons.ts);
 * - reasoning -> `reasoning_content` (plain string) plus the vendor field `thinking_blocks`
 *   (`{type:"thinking", thinking, signature}` | `{type:"redacted_thinking", data}`, in order), which the request
 *   side sends back to Claude (message-history.ts).
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { encodeJson, utf8 } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, ResponseResult, Warning } from '../types.js';
import type { ThinkingBlock } from './message-history.js';
import { toOpenAIUsage } from './openai-usage.js';

/** A 2xx that is really a failure: the OpenAI error body, StreamStep-style `error` set, usage kept if any. */
export function failedResponse(error: ErrorShape, usage: TokenUsage | undefined = undefined): ResponseResult {
  return { body: utf8(openAIErrorBody(error)), usage, error };
}

export class AssistantReply {
  readonly warnings: Warning[] = [];
  private readonly texts: string[] = [];
  private readonly reasoning: string[] = [];
  private readonly thinkingBlocks: ThinkingBlock[] = [];
  private readonly toolCalls: Record<string, unknown>[] = [];

  get toolCalled(): boolean {
    return this.toolCalls.length > 0;
  }

  text(text: string): void {
    this.texts.push(text);
  }

  toolCall(id: string, name: string, input: unknown): void {
    this.toolCalls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(input) } });
  }

  /** Reasoning text; with `signature` it is also kept as a thinking block for the next turn. */
  thinking(text: string, signature: string | undefined): void {
    this.reasoning.push(text);
    if (signature !== undefined) this.thinkingBlocks.push({ type: 'thinking', thinking: text, signature });
  }

  redactedThinking(data: string): void {
    this.thinkingBlocks.push({ type: 'redacted_thinking', data });
  }

  warn(warning: Warning): void {
    this.warnings.push(warning);
  }

  message(): Record<string, unknown> {
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: this.texts.length > 0 ? this.texts.join('') : this.toolCalled ? null : '',
    };
    if (this.reasoning.length > 0) message.reasoning_content = this.reasoning.join('');
    if (this.thinkingBlocks.length > 0) message.thinking_blocks = this.thinkingBlocks;
    if (this.toolCalled) message.tool_calls = this.toolCalls;
    return message;
  }
}

export interface CompletionParts {
  readonly id: string;
  readonly model: string;
  readonly finishReason: string;
  /** Omitted from the body when undefined. */
  readonly usage: TokenUsage | undefined;
  /** The provider's service tier for this request (`service_tier`), when it reports one. */
  readonly serviceTier?: string;
}

/** The `chat.completion` body and the ResponseResult around it (warnings only when there are some). */
export function completionResult(ctx: RequestContext, reply: AssistantReply, parts: CompletionParts): ResponseResult {
  const completion: Record<string, unknown> = {
    id: parts.id,
    object: 'chat.completion',
    created: Math.floor(ctx.now() / 1000),
    model: parts.model,
    choices: [{ index: 0, message: reply.message(), logprobs: null, finish_reason: parts.finishReason }],
  };
  if (parts.usage) completion.usage = toOpenAIUsage(parts.usage);
  if (parts.serviceTier !== undefined) completion.service_tier = parts.serviceTier;
  const result: ResponseResult = { body: encodeJson(completion), usage: parts.usage, responseModel: parts.model };
  return reply.warnings.length > 0 ? { ...result, warnings: reply.warnings } : result;
}
