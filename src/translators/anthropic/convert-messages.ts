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
import { asString } from '../../core/json.js';
import { appendTurn, droppedThinkingWarning, forEachMessage, noTurnsError, readAssistantThinking, readToolCalls } from '../shared/message-history.js';
import type { Warning } from '../types.js';
import {
  convertTextContent,
  convertUserContent,
  invalidRequest,
  markLastBlock,
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
  const system: AnthropicBlock[] = [];
  const turns: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: AnthropicBlock[]): void => appendTurn(turns, role, blocks);

  forEachMessage(messages, 'Anthropic', warnings, (message, param, cacheControl) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...markLastBlock(convertTextContent(message.content, `${param}.content`), cacheControl));
        return;
      case 'user':
        push('user', markLastBlock(convertUserContent(message.content, `${param}.content`, options), cacheControl));
        return;
      case 'assistant': {
        const thinking: AnthropicBlock[] = readAssistantThinking(message, param, warnings);
        const text = convertTextContent(message.content, `${param}.content`);
        const body = [...text, ...readToolCalls(message.tool_calls, `${param}.tool_calls`).map((call) => ({ type: 'tool_use', ...call }))];
        if (body.length === 0 && thinking.length > 0) {
          warnings.push(droppedThinkingWarning(param));
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

  if (turns.length === 0) throw noTurnsError();
  for (const turn of turns) if (turn.role === 'user') turn.content = resultsFirst(turn.content);
  return { system, messages: turns };
}
