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
 *   the content is `{json}` when it is a JSON object, else `{text}`; the vendor field `is_error: true` gives
 *   `status: error`.
 * - assistant `tool_calls` become `toolUse` blocks (arguments parsed; invalid JSON is a 422).
 * - assistant `thinking_blocks` (the vendor field our responses carry, shared with the Anthropic translator)
 *   become `reasoningContent` blocks, first in the turn, signatures unchanged.
 * - `name` has no Converse equivalent: ignored with an `unsupported_parameter` warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
 */
import { asString, isRecord, parseJsonObject } from '../../core/json.js';
import { forEachUserPart, requireText } from '../shared/content-parts.js';
import {
  appendTurn,
  droppedThinkingWarning,
  forEachMessage,
  noTurnsError,
  readAssistantThinking,
  readToolCalls,
  type ThinkingBlock,
} from '../shared/message-history.js';
import type { Warning } from '../types.js';
import { convertImage, convertTextContent, convertUserContent, pushCachePoint } from './convert-content.js';
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

function reasoningBlock(block: ThinkingBlock): ConverseBlock {
  if (block.type === 'redacted_thinking') return { reasoningContent: { redactedContent: block.data } };
  return { reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } };
}

function toolResultContent(content: unknown, param: string): { content: ConverseToolResultContent[]; cache: boolean } {
  if (content === undefined || content === null || content === '') return { content: [{ text: EMPTY_TOOL_RESULT_TEXT }], cache: false };
  if (typeof content === 'string') {
    const json = parseJsonObject(content);
    return { content: [json ? { json } : { text: content }], cache: false };
  }
  const out: ConverseToolResultContent[] = [];
  let cache = false;
  forEachUserPart(content, param, (part, partParam, cacheControl) => {
    cache = cacheControl !== undefined || cache;
    if (part.type === 'text') {
      const text = requireText(part, partParam);
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
  const system: ConverseSystemBlock[] = [];
  const turns: ConverseMessage[] = [];
  const historyToolNames: string[] = [];
  const push = (role: ConverseMessage['role'], blocks: ConverseBlock[]): void => appendTurn(turns, role, blocks);

  forEachMessage(messages, 'Bedrock', warnings, (message, param, cacheControl) => {
    const cache = cacheControl !== undefined;
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
        const reasoning = readAssistantThinking(message, param, warnings).map(reasoningBlock);
        const calls = readToolCalls(message.tool_calls, `${param}.tool_calls`);
        for (const call of calls) historyToolNames.push(call.name);
        const toolUses = calls.map((call): ConverseBlock => ({ toolUse: { toolUseId: call.id, name: call.name, input: call.input } }));
        const body: ConverseBlock[] = [...convertTextContent(message.content, `${param}.content`), ...toolUses];
        if (cache) pushCachePoint(body);
        if (!body.some((block) => !('cachePoint' in block))) {
          if (reasoning.length > 0) warnings.push(droppedThinkingWarning(param));
          return;
        }
        push('assistant', [...reasoning, ...body]);
        return;
      }
      case 'tool': {
        const toolUseId = asString(message.tool_call_id);
        if (!toolUseId) throw invalidRequest(`${param}.tool_call_id is required`, `${param}.tool_call_id`);
        const result = toolResultContent(message.content, `${param}.content`);
        // `is_error` (vendor field, from Anthropic clients): the result reports a failed call.
        const status = message.is_error === true ? { status: 'error' as const } : {};
        const blocks: ConverseBlock[] = [{ toolResult: { toolUseId, content: result.content, ...status } }];
        if (cache || result.cache) pushCachePoint(blocks);
        push('user', blocks);
        return;
      }
      default:
        throw invalidRequest(`${param}.role "${String(message.role)}" is not supported by Bedrock backends`, `${param}.role`);
    }
  });

  if (turns.length === 0) throw noTurnsError();
  for (const turn of turns) if (turn.role === 'user') turn.content = resultsFirst(turn.content);
  if (turns[0]?.role === 'assistant') {
    turns.unshift({ role: 'user', content: [{ text: PLACEHOLDER_USER_TEXT }] });
    warnings.push({ kind: 'inserted_message', detail: 'Bedrock requires the conversation to start with a user turn; a placeholder user turn was inserted' });
  }
  return { system, messages: turns, historyToolNames };
}
