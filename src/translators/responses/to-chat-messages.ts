/**
 * Responses `instructions` + `input` -> OpenAI chat `messages`, for the chat pivot (pivot.ts).
 *
 * - `instructions` -> a leading `system` message.
 * - `input` as a string -> one `user` message.
 * - message items (`type: "message"` or no type) keep their role (`developer` and `system` become system text in
 *   every chat translator); content as a string, or parts: `input_text` / `output_text` -> text, `refusal` -> text,
 *   `input_image` (`image_url`, a URL or a data URL) -> `image_url` with its `detail`, `input_file` with
 *   `file_data` -> a `file` part.
 * - `function_call` items -> `tool_calls` on an assistant message (consecutive calls, and a call right after an
 *   assistant message, join that message, as chat wants them); `function_call_output` -> a `tool` message
 *   (`tool_call_id` = `call_id`; parts of an array output joined as text, images dropped with a warning).
 * - `reasoning` items whose `encrypted_content` this service wrote (signed thinking blocks, convert-response.ts)
 *   go back as `thinking_blocks` (and `reasoning_content`) on the assistant message that follows, as Claude needs
 *   to continue a tool loop with thinking; other reasoning items are dropped with a warning.
 * - Anything else (hosted tool calls and their outputs) -> 422, since it cannot be expressed.
 * @see https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';
import { decodeThinkingBlocks } from './response-object.js';

type Json = Record<string, unknown>;

function invalid(message: string, param: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', `invalid request body: ${message}`, { param });
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function convertPart(part: unknown, param: string, warnings: Warning[]): Json | undefined {
  if (typeof part === 'string') return { type: 'text', text: part };
  if (!isRecord(part)) throw invalid('content parts must be objects', param);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: asString(part.text) ?? '' };
    case 'refusal':
      return { type: 'text', text: asString(part.refusal) ?? '' };
    case 'input_image': {
      const url = asString(part.image_url);
      if (url === undefined) throw invalid('input_image needs image_url', `${param}.image_url`);
      const detail = asString(part.detail);
      return { type: 'image_url', image_url: { url, ...(detail && detail !== 'auto' ? { detail } : {}) } };
    }
    case 'input_file': {
      const data = asString(part.file_data);
      if (data === undefined) throw invalid('input_file needs file_data', `${param}.file_data`);
      const filename = asString(part.filename);
      return { type: 'file', file: { file_data: data, ...(filename ? { filename } : {}) } };
    }
    default:
      warnings.push({ kind: 'unsupported_content', detail: `${param} of type ${JSON.stringify(part.type ?? null).slice(0, 60)} was dropped` });
      return undefined;
  }
}

function convertContent(content: unknown, param: string, warnings: Warning[]): string | Json[] {
  if (typeof content === 'string') return content;
  const parts = asArray(content);
  if (!parts) throw invalid('content must be a string or an array of parts', param);
  const out: Json[] = [];
  for (const [index, part] of parts.entries()) {
    const converted = convertPart(part, `${param}[${index}]`, warnings);
    if (converted) out.push(converted);
  }
  return out;
}

/** Plain text of content parts (assistant history and tool outputs carry text only in chat). */
function textOf(content: string | Json[]): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? String(part.text) : '')).join('');
}

function toolOutput(value: unknown, param: string, warnings: Warning[]): string {
  if (typeof value === 'string') return value;
  const parts = convertContent(value, param, warnings);
  if (Array.isArray(parts) && parts.some((part) => part.type !== 'text')) {
    warnings.push({ kind: 'unsupported_content', detail: `${param}: only the text of a function_call_output reaches this backend` });
  }
  return textOf(parts);
}

/** The chat messages for a Responses body. */
export function convertInput(body: Readonly<Json>, warnings: Warning[]): Json[] {
  const messages: Json[] = [];
  /** Thinking blocks of a reasoning item, for the assistant message that follows it. */
  let thinking: Json[] = [];
  const withThinking = (message: Json): Json => {
    if (thinking.length === 0) return message;
    const text = thinking.map((block) => asString(block.thinking) ?? '').join('');
    const out = { ...message, thinking_blocks: [...(asArray(message.thinking_blocks) ?? []), ...thinking], ...(text ? { reasoning_content: text } : {}) };
    thinking = [];
    return out;
  };
  const instructions = asString(body.instructions);
  if (instructions) messages.push({ role: 'system', content: instructions });
  if (typeof body.input === 'string') {
    messages.push({ role: 'user', content: body.input });
    return messages;
  }
  const items = asArray(body.input);
  if (!items) throw invalid('input must be a string or an array of items', 'input');
  for (const [index, item] of items.entries()) {
    const param = `input[${index}]`;
    if (!isRecord(item)) throw invalid('input items must be objects', param);
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = asString(item.role) ?? '';
      if (!ROLES.has(role)) throw invalid(`role ${JSON.stringify(role).slice(0, 40)} is not supported`, `${param}.role`);
      const content = convertContent(item.content, `${param}.content`, warnings);
      messages.push(role === 'assistant' ? withThinking({ role, content: textOf(content) }) : { role, content });
    } else if (type === 'function_call') {
      const call = { id: asString(item.call_id) ?? '', type: 'function', function: { name: asString(item.name) ?? '', arguments: asString(item.arguments) ?? '{}' } };
      if (call.id === '') throw invalid('function_call needs call_id', `${param}.call_id`);
      const last = messages.at(-1);
      if (last?.role === 'assistant') messages[messages.length - 1] = withThinking({ ...last, tool_calls: [...(asArray(last.tool_calls) ?? []), call] });
      else messages.push(withThinking({ role: 'assistant', content: null, tool_calls: [call] }));
    } else if (type === 'function_call_output') {
      const callId = asString(item.call_id);
      if (!callId) throw invalid('function_call_output needs call_id', `${param}.call_id`);
      messages.push({ role: 'tool', tool_call_id: callId, content: toolOutput(item.output, `${param}.output`, warnings) });
    } else if (type === 'reasoning') {
      const blocks = decodeThinkingBlocks(item.encrypted_content);
      if (blocks) thinking.push(...blocks);
      else warnings.push({ kind: 'unsupported_content', detail: `${param}: a reasoning item without thinking blocks from this gateway is not sent to this backend` });
    } else {
      throw invalid(`input items of type ${JSON.stringify(type).slice(0, 60)} are not supported by this backend`, `${param}.type`);
    }
  }
  if (thinking.length > 0) warnings.push({ kind: 'unsupported_content', detail: 'input: a reasoning item with no assistant turn after it was not sent' });
  return messages;
}
