/**
 * The assistant side of an OpenAI chat history, read for backends with Claude-style turns (Anthropic, Bedrock
 * Converse): tool calls with parsed arguments, the `thinking_blocks` vendor field our responses carry, and turn
 * merging. Each translator turns what is read here into its own blocks.
 */
import type { GatewayError } from '../../core/errors.js';
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import type { Warning } from '../types.js';
import { invalidRequest, readCacheControl, type CacheControl } from './content-parts.js';

export type MessageVisitor = (message: Record<string, unknown>, param: string, cacheControl: CacheControl | undefined) => void;

/**
 * The client's `messages`, in order: a non-empty array of objects, each with a well-formed `cache_control` (if any).
 * `name` has no equivalent on these backends: ignored with an `unsupported_parameter` warning.
 */
export function forEachMessage(messages: unknown, backend: string, warnings: Warning[], visit: MessageVisitor): void {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages must be a non-empty array', 'messages');
  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (!isRecord(message)) throw invalidRequest(`${param} must be an object`, param);
    const cacheControl = readCacheControl(message.cache_control, `${param}.cache_control`);
    if (typeof message.name === 'string' && message.role !== 'tool') {
      warnings.push({ kind: 'unsupported_parameter', detail: `${param}.name is not supported by ${backend} and was ignored` });
    }
    visit(message, param, cacheControl);
  });
}

/** The 422 for a conversation left without a user or assistant turn. */
export function noTurnsError(): GatewayError {
  return invalidRequest('messages must contain at least one user or assistant message with content', 'messages');
}

/** `function.arguments` (a JSON string; an object is taken as is) -> the input object. Invalid JSON is a 422. */
export function parseToolArguments(value: unknown, param: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw invalidRequest(`${param} must be a JSON string`, param);
  if (value.trim() === '') return {};
  const parsed = safeParseJson(value);
  if (!parsed.ok) throw invalidRequest(`${param} is not valid JSON: ${parsed.error}`, param);
  if (!isRecord(parsed.value)) throw invalidRequest(`${param} must encode a JSON object`, param);
  return parsed.value;
}

export interface HistoryToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/** An assistant message's `tool_calls` (function calls only, each with an id and a name). */
export function readToolCalls(toolCalls: unknown, param: string): HistoryToolCall[] {
  if (toolCalls === undefined || toolCalls === null) return [];
  if (!Array.isArray(toolCalls)) throw invalidRequest(`${param} must be an array`, param);
  return toolCalls.map((call, index) => {
    const callParam = `${param}[${index}]`;
    if (!isRecord(call)) throw invalidRequest(`${callParam} must be an object`, callParam);
    if (call.type !== undefined && call.type !== 'function') {
      throw invalidRequest(`${callParam}.type "${String(call.type)}" is not supported`, callParam);
    }
    const id = asString(call.id);
    const fn = isRecord(call.function) ? call.function : undefined;
    const name = fn ? asString(fn.name) : undefined;
    if (!id) throw invalidRequest(`${callParam}.id is required`, callParam);
    if (!fn || !name) throw invalidRequest(`${callParam}.function.name is required`, callParam);
    return { id, name, input: parseToolArguments(fn.arguments, `${callParam}.function.arguments`) };
  });
}

export type ThinkingBlock = { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

/** `thinking_blocks` on an assistant message; `reasoning_content` fills a single block sent without its text. */
export function readThinkingBlocks(message: Record<string, unknown>, param: string): ThinkingBlock[] {
  const blocks = message.thinking_blocks;
  if (blocks === undefined || blocks === null) return [];
  if (!Array.isArray(blocks)) throw invalidRequest(`${param}.thinking_blocks must be an array`, param);
  const reasoning = asString(message.reasoning_content);
  const fillFromReasoning = blocks.length === 1 && reasoning !== undefined;
  return blocks.map((block, index): ThinkingBlock => {
    const blockParam = `${param}.thinking_blocks[${index}]`;
    if (!isRecord(block)) throw invalidRequest(`${blockParam} must be an object`, blockParam);
    if (block.type === 'redacted_thinking') {
      const data = asString(block.data);
      if (!data) throw invalidRequest(`${blockParam}.data is required`, blockParam);
      return { type: 'redacted_thinking', data };
    }
    if (block.type === 'thinking') {
      const signature = asString(block.signature);
      if (!signature) throw invalidRequest(`${blockParam}.signature is required`, blockParam);
      const text = asString(block.thinking);
      const thinking = text !== undefined && text !== '' ? text : fillFromReasoning ? (reasoning ?? '') : (text ?? '');
      return { type: 'thinking', thinking, signature };
    }
    throw invalidRequest(`${blockParam}.type must be "thinking" or "redacted_thinking"`, blockParam);
  });
}

/**
 * An assistant message's thinking blocks. `reasoning_content` without them has no signature and cannot be sent
 * back; a warning says so.
 */
export function readAssistantThinking(message: Record<string, unknown>, param: string, warnings: Warning[]): ThinkingBlock[] {
  const blocks = readThinkingBlocks(message, param);
  if (blocks.length === 0 && typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
    warnings.push({ kind: 'unsupported_parameter', detail: `${param}.reasoning_content without thinking_blocks (no signature) was not sent` });
  }
  return blocks;
}

/** An assistant turn with thinking blocks but nothing else is dropped (Claude rejects it); this warning says so. */
export function droppedThinkingWarning(param: string): Warning {
  return { kind: 'dropped_content', detail: `${param} has thinking blocks but no content; the turn was dropped` };
}

/** Appends blocks to the conversation: into the last turn when it has the same role, else as a new turn. */
export function appendTurn<B>(turns: Array<{ role: 'user' | 'assistant'; content: B[] }>, role: 'user' | 'assistant', blocks: B[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else turns.push({ role, content: [...blocks] });
}
