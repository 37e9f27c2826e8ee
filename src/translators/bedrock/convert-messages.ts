/**
 * OpenAI chat messages -> Converse `system` + `messages`.
 *
 * Converse rules this enforces (it answers ValidationException otherwise):
 * - `system` and `developer` messages, wherever they appear, become `system` blocks, in order.
 * - roles alternate and the conversation starts with a user turn: consecutive same-role messages are merged;
 *   a conversation that starts with an assistant turn (a UI greeting) gets a placeholder user turn first,
 *   with a `inserted_message` warning.
 * - no empty content blocks and no empty messages: empty text is skipped, an assistant message with no text and
 *   no tool calls is dropped.
 * - `tool` messages become `toolResult` blocks in one user turn (parallel results share it, results first);
 *   the content is `{json}` when it is a JSON object, else `{text}`.
 * - assistant `tool_calls` become `toolUse` blocks (arguments parsed; invalid JSON is a 422).
 * - assistant `thinking_blocks` (the vendor field our responses carry, shared with the Anthropic translator)
 *   become `reasoningContent` blocks, first in the turn, signatures unchanged.
 * - `name` has no Converse equivalent: ignored with an `unsupported_parameter` warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
 */
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import type { Warning } from '../types.js';
import { convertImage, convertTextContent, convertUserContent, hasCacheControl, pushCachePoint } from './convert-content.js';
import {
  invalidRequest,
  type ConverseBlock,
  type ConverseMessage,
  type ConverseSystemBlock,
  type ConverseToolResultContent,
} from './converse-types.js';

export interface ConvertedMessages {
  readonly system: ConverseSystemBlock[];
  readonly messages: ConverseMessage[];
  /** Names of the tools called in the history (Converse needs a toolConfig that declares them). */
  readonly historyToolNames: string[];
}

/** Text of the user turn inserted when a conversation starts with the assistant. */
export const PLACEHOLDER_USER_TEXT = '(conversation start)';
/** Text sent for a tool result with no content (Converse rejects blank text). */
export const EMPTY_TOOL_RESULT_TEXT = '(empty)';

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

function convertToolCalls(toolCalls: unknown, param: string): ConverseBlock[] {
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
    return { toolUse: { toolUseId: id, name, input: parseArguments(fn.arguments, `${callParam}.function.arguments`) } };
  });
}

/** `thinking_blocks` -> reasoningContent; `reasoning_content` fills a single block sent without its text. */
function convertThinkingBlocks(message: Record<string, unknown>, param: string): ConverseBlock[] {
  const blocks = message.thinking_blocks;
  if (blocks === undefined || blocks === null) return [];
  if (!Array.isArray(blocks)) throw invalidRequest(`${param}.thinking_blocks must be an array`, param);
  const reasoning = asString(message.reasoning_content);
  const fillFromReasoning = blocks.length === 1 && reasoning !== undefined;
  return blocks.map((block, index): ConverseBlock => {
    const blockParam = `${param}.thinking_blocks[${index}]`;
    if (!isRecord(block)) throw invalidRequest(`${blockParam} must be an object`, blockParam);
    if (block.type === 'redacted_thinking') {
      const data = asString(block.data);
      if (!data) throw invalidRequest(`${blockParam}.data is required`, blockParam);
      return { reasoningContent: { redactedContent: data } };
    }
    if (block.type === 'thinking') {
      const signature = asString(block.signature);
      if (!signature) throw invalidRequest(`${blockParam}.signature is required`, blockParam);
      const own = asString(block.thinking);
      const text = own !== undefined && own !== '' ? own : fillFromReasoning ? (reasoning ?? '') : (own ?? '');
      return { reasoningContent: { reasoningText: { text, signature } } };
    }
    throw invalidRequest(`${blockParam}.type must be "thinking" or "redacted_thinking"`, blockParam);
  });
}

function toolResultContent(content: unknown, param: string): { content: ConverseToolResultContent[]; cache: boolean } {
  if (content === undefined || content === null || content === '') return { content: [{ text: EMPTY_TOOL_RESULT_TEXT }], cache: false };
  if (typeof content === 'string') {
    const parsed = safeParseJson(content);
    return { content: [parsed.ok && isRecord(parsed.value) ? { json: parsed.value } : { text: content }], cache: false };
  }
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of content parts`, param);
  const out: ConverseToolResultContent[] = [];
  let cache = false;
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    cache = hasCacheControl(part.cache_control, `${partParam}.cache_control`) || cache;
    if (part.type === 'text') {
      const text = asString(part.text);
      if (text === undefined) throw invalidRequest(`${partParam}.text must be a string`, partParam);
      if (text !== '') out.push({ text });
    } else if (part.type === 'image_url') {
      const block = convertImage(part, partParam).image;
      if (!('bytes' in block.source)) throw invalidRequest(`${partParam}: tool results take base64 images only`, partParam);
      out.push({ image: { format: block.format, source: block.source } });
    } else {
      throw invalidRequest(`${partParam}: content part type "${String(part.type)}" is not supported in tool results`, partParam);
    }
  });
  return { content: out.length > 0 ? out : [{ text: EMPTY_TOOL_RESULT_TEXT }], cache };
}

/** toolResult blocks must open a user turn; a cache point stays attached to the block before it. */
function resultsFirst(blocks: ConverseBlock[]): ConverseBlock[] {
  const results: ConverseBlock[] = [];
  const others: ConverseBlock[] = [];
  let target = others;
  for (const block of blocks) {
    if (!('cachePoint' in block)) target = 'toolResult' in block ? results : others;
    target.push(block);
  }
  return results.length === 0 || others.length === 0 ? blocks : [...results, ...others];
}

export function convertMessages(messages: unknown, warnings: Warning[]): ConvertedMessages {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages must be a non-empty array', 'messages');
  const system: ConverseSystemBlock[] = [];
  const turns: ConverseMessage[] = [];
  const historyToolNames: string[] = [];
  const push = (role: ConverseMessage['role'], blocks: ConverseBlock[]): void => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: [...blocks] });
  };

  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (!isRecord(message)) throw invalidRequest(`${param} must be an object`, param);
    const cache = hasCacheControl(message.cache_control, `${param}.cache_control`);
    if (typeof message.name === 'string' && message.role !== 'tool') {
      warnings.push({ kind: 'unsupported_parameter', detail: `${param}.name is not supported by Bedrock and was ignored` });
    }
    switch (message.role) {
      case 'system':
      case 'developer': {
        const blocks = convertTextContent(message.content, `${param}.content`);
        if (cache) pushCachePoint(blocks);
        system.push(...blocks);
        return;
      }
      case 'user': {
        const blocks = convertUserContent(message.content, `${param}.content`);
        if (cache) pushCachePoint(blocks);
        push('user', blocks);
        return;
      }
      case 'assistant': {
        const reasoning = convertThinkingBlocks(message, param);
        const calls = convertToolCalls(message.tool_calls, `${param}.tool_calls`);
        for (const call of calls) if ('toolUse' in call) historyToolNames.push(call.toolUse.name);
        const body: ConverseBlock[] = [...convertTextContent(message.content, `${param}.content`), ...calls];
        if (cache) pushCachePoint(body);
        if (reasoning.length === 0 && typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
          warnings.push({ kind: 'unsupported_parameter', detail: `${param}.reasoning_content without thinking_blocks (no signature) was not sent` });
        }
        if (!body.some((block) => !('cachePoint' in block))) {
          if (reasoning.length > 0) warnings.push({ kind: 'dropped_content', detail: `${param} has thinking blocks but no content; the turn was dropped` });
          return;
        }
        push('assistant', [...reasoning, ...body]);
        return;
      }
      case 'tool': {
        const toolUseId = asString(message.tool_call_id);
        if (!toolUseId) throw invalidRequest(`${param}.tool_call_id is required`, `${param}.tool_call_id`);
        const result = toolResultContent(message.content, `${param}.content`);
        const blocks: ConverseBlock[] = [{ toolResult: { toolUseId, content: result.content } }];
        if (cache || result.cache) pushCachePoint(blocks);
        push('user', blocks);
        return;
      }
      default:
        throw invalidRequest(`${param}.role "${String(message.role)}" is not supported by Bedrock backends`, `${param}.role`);
    }
  });

  if (turns.length === 0) throw invalidRequest('messages must contain at least one user or assistant message with content', 'messages');
  for (const turn of turns) if (turn.role === 'user') turn.content = resultsFirst(turn.content);
  if (turns[0]?.role === 'assistant') {
    turns.unshift({ role: 'user', content: [{ text: PLACEHOLDER_USER_TEXT }] });
    warnings.push({ kind: 'inserted_message', detail: 'Bedrock requires the conversation to start with a user turn; a placeholder user turn was inserted' });
  }
  return { system, messages: turns, historyToolNames };
}
