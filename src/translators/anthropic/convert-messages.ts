/**
 * OpenAI chat messages -> Anthropic `system` + `messages`.
 *
 * Rules (Claude needs alternating user/assistant turns with non-empty content):
 * - `system` and `developer` messages, wherever they appear, become `system` text blocks, in order.
 * - `tool` messages become `tool_result` blocks in a user turn; consecutive results (parallel calls) share one
 *   user turn, and a user message that follows them joins that turn after the results.
 * - consecutive messages of the same role are merged into one turn; messages with no content are dropped
 *   (an assistant message with `content: ""` and no tool calls, for one).
 * - assistant `tool_calls` become `tool_use` blocks (arguments parsed; invalid JSON is a 422).
 * - assistant `thinking_blocks` (the vendor field our responses carry, see convert-response.ts) become
 *   `thinking` / `redacted_thinking` blocks, first in the turn, signatures unchanged.
 * - `name` has no Anthropic equivalent: it is ignored with an `unsupported_parameter` warning.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#preserving-thinking-blocks
 */
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import type { Warning } from '../types.js';
import {
  convertTextContent,
  convertUserContent,
  invalidRequest,
  markLastBlock,
  readCacheControl,
  type AnthropicBlock,
  type ContentOptions,
} from './convert-content.js';

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

export interface ConvertedMessages {
  readonly system: AnthropicBlock[];
  readonly messages: AnthropicMessage[];
}

function parseArguments(value: unknown, param: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw invalidRequest(`${param} must be a JSON string`, param);
  if (value.trim() === '') return {};
  const parsed = safeParseJson(value);
  if (!parsed.ok) throw invalidRequest(`${param} is not valid JSON: ${parsed.error}`, param);
  if (!isRecord(parsed.value)) throw invalidRequest(`${param} must encode a JSON object`, param);
  return parsed.value;
}

function convertToolCalls(toolCalls: unknown, param: string): AnthropicBlock[] {
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
    const input = parseArguments(fn.arguments, `${callParam}.function.arguments`);
    return { type: 'tool_use', id, name, input };
  });
}

/** `thinking_blocks` on an assistant message; `reasoning_content` fills a single block sent without its text. */
function convertThinkingBlocks(message: Record<string, unknown>, param: string): AnthropicBlock[] {
  const blocks = message.thinking_blocks;
  if (blocks === undefined || blocks === null) return [];
  if (!Array.isArray(blocks)) throw invalidRequest(`${param}.thinking_blocks must be an array`, param);
  const reasoning = asString(message.reasoning_content);
  const fillFromReasoning = blocks.length === 1 && reasoning !== undefined;
  return blocks.map((block, index) => {
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

function convertToolMessage(message: Record<string, unknown>, param: string): AnthropicBlock {
  const toolUseId = asString(message.tool_call_id);
  if (!toolUseId) throw invalidRequest(`${param}.tool_call_id is required`, param);
  const content = message.content;
  const result: AnthropicBlock = { type: 'tool_result', tool_use_id: toolUseId };
  if (typeof content === 'string') return content === '' ? result : { ...result, content };
  const blocks = convertTextContent(content, `${param}.content`);
  return blocks.length === 0 ? result : { ...result, content: blocks };
}

/** tool_result blocks must open a user turn; keeps the relative order of everything else. */
function resultsFirst(blocks: AnthropicBlock[]): AnthropicBlock[] {
  const results = blocks.filter((block) => block.type === 'tool_result');
  if (results.length === 0 || results.length === blocks.length) return blocks;
  return [...results, ...blocks.filter((block) => block.type !== 'tool_result')];
}

export function convertMessages(messages: unknown, options: ContentOptions, warnings: Warning[]): ConvertedMessages {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages must be a non-empty array', 'messages');
  const system: AnthropicBlock[] = [];
  const turns: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: AnthropicBlock[]): void => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: [...blocks] });
  };

  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (!isRecord(message)) throw invalidRequest(`${param} must be an object`, param);
    const cacheControl = readCacheControl(message.cache_control, `${param}.cache_control`);
    if (typeof message.name === 'string' && message.role !== 'tool') {
      warnings.push({ kind: 'unsupported_parameter', detail: `${param}.name is not supported by Anthropic and was ignored` });
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...markLastBlock(convertTextContent(message.content, `${param}.content`), cacheControl));
        return;
      case 'user':
        push('user', markLastBlock(convertUserContent(message.content, `${param}.content`, options), cacheControl));
        return;
      case 'assistant': {
        const thinking = convertThinkingBlocks(message, param);
        const body = [...convertTextContent(message.content, `${param}.content`), ...convertToolCalls(message.tool_calls, `${param}.tool_calls`)];
        if (thinking.length === 0 && typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
          warnings.push({ kind: 'unsupported_parameter', detail: `${param}.reasoning_content without thinking_blocks (no signature) was not sent` });
        }
        if (body.length === 0 && thinking.length > 0) {
          warnings.push({ kind: 'dropped_content', detail: `${param} has thinking blocks but no content; the turn was dropped` });
          return;
        }
        push('assistant', [...thinking, ...markLastBlock(body, cacheControl)]);
        return;
      }
      case 'tool':
        push('user', markLastBlock([convertToolMessage(message, param)], cacheControl));
        return;
      default:
        throw invalidRequest(`${param}.role "${String(message.role)}" is not supported by ${options.schema} backends`, `${param}.role`);
    }
  });

  if (turns.length === 0) throw invalidRequest('messages must contain at least one user or assistant message with content', 'messages');
  for (const turn of turns) if (turn.role === 'user') turn.content = resultsFirst(turn.content);
  return { system, messages: turns };
}
