/**
 * Anthropic Messages `system` + `messages` -> OpenAI chat `messages`.
 *
 * - `system` (string or text blocks) -> one leading `system` message (blocks joined with a blank line).
 * - user text -> text parts; `image` (base64 or url source) -> `image_url` (base64 as a data URL); a PDF
 *   `document` (base64) -> a `file` part with `file_data`; a plain-text `document` -> a text part.
 * - user `tool_result` blocks -> `tool` messages (tool_call_id = tool_use_id), placed before the rest of the user
 *   turn, since OpenAI wants tool results right after the assistant's tool calls. Text content becomes the tool
 *   message text; images in a tool result follow in a user message (OpenAI tool messages carry only text).
 *   OpenAI has no `is_error`: the result text is sent as is.
 * - assistant text -> `content`; `tool_use` -> `tool_calls` (input serialised as `arguments`).
 * - `thinking` / `redacted_thinking` blocks are dropped (OpenAI takes no reasoning input); `cache_control` is
 *   dropped. Other block types are dropped with an `unsupported_content` warning.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';

type Json = Record<string, unknown>;

function invalid(message: string, param: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', `invalid request body: ${message}`, { param });
}

/** Text of a string or of the text blocks in an array. */
export function textOf(content: unknown, separator = '\n'): string {
  if (typeof content === 'string') return content;
  return (asArray(content) ?? [])
    .filter(isRecord)
    .filter((block) => block.type === 'text')
    .map((block) => asString(block.text) ?? '')
    .join(separator);
}

function imagePart(block: Json, where: string): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64') {
    const mediaType = asString(source.media_type) ?? 'image/png';
    return { type: 'image_url', image_url: { url: `data:${mediaType};base64,${asString(source.data) ?? ''}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string') return { type: 'image_url', image_url: { url: source.url } };
  throw invalid(`image source type ${JSON.stringify(source.type ?? null)} is not supported by OpenAI backends`, where);
}

function documentPart(block: Json, where: string): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'text') return { type: 'text', text: asString(source.data) ?? '' };
  if (source.type === 'content') return { type: 'text', text: textOf(source.content) };
  if (source.type === 'base64' && source.media_type === 'application/pdf') {
    const filename = asString(block.title) ?? 'document.pdf';
    return { type: 'file', file: { filename, file_data: `data:application/pdf;base64,${asString(source.data) ?? ''}` } };
  }
  throw invalid(`document source ${JSON.stringify(source.type ?? null)} (${String(source.media_type ?? '')}) is not supported by OpenAI backends`, where);
}

/** One user content block -> an OpenAI content part, or undefined when the block has no OpenAI form. */
function userPart(block: Json, where: string, warnings: Warning[]): Json | undefined {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: asString(block.text) ?? '' };
    case 'image':
      return imagePart(block, where);
    case 'document':
      return documentPart(block, where);
    case 'thinking':
    case 'redacted_thinking':
      return undefined;
    default:
      warnings.push({ kind: 'unsupported_content', detail: `content block ${JSON.stringify(block.type ?? null)} at ${where} has no OpenAI equivalent and was dropped` });
      return undefined;
  }
}

/** OpenAI message content from parts: one text part as a plain string, otherwise the part array. */
function contentOf(parts: readonly Json[]): string | Json[] {
  const only = parts[0];
  if (parts.length === 1 && only?.type === 'text') return asString(only.text) ?? '';
  return [...parts];
}

function convertUser(content: unknown, where: string, warnings: Warning[]): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const blocks = asArray(content);
  if (!blocks) throw invalid(`${where}.content must be a string or an array of content blocks`, `${where}.content`);
  const toolMessages: Json[] = [];
  const parts: Json[] = [];
  for (const [index, block] of blocks.entries()) {
    if (!isRecord(block)) throw invalid(`${where}.content[${index}] must be an object`, `${where}.content`);
    const blockWhere = `${where}.content[${index}]`;
    if (block.type !== 'tool_result') {
      const part = userPart(block, blockWhere, warnings);
      if (part) parts.push(part);
      continue;
    }
    const toolCallId = asString(block.tool_use_id);
    if (toolCallId === undefined) throw invalid(`${blockWhere}.tool_use_id is required`, blockWhere);
    toolMessages.push({ role: 'tool', tool_call_id: toolCallId, content: textOf(block.content) });
    for (const [inner, item] of (asArray(block.content) ?? []).entries()) {
      if (isRecord(item) && item.type === 'image') parts.push(imagePart(item, `${blockWhere}.content[${inner}]`));
    }
  }
  return parts.length > 0 ? [...toolMessages, { role: 'user', content: contentOf(parts) }] : toolMessages;
}

function convertAssistant(content: unknown, where: string, warnings: Warning[]): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  const blocks = asArray(content);
  if (!blocks) throw invalid(`${where}.content must be a string or an array of content blocks`, `${where}.content`);
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const [index, block] of blocks.entries()) {
    if (!isRecord(block)) throw invalid(`${where}.content[${index}] must be an object`, `${where}.content`);
    if (block.type === 'text') texts.push(asString(block.text) ?? '');
    else if (block.type === 'tool_use') {
      const id = asString(block.id);
      const name = asString(block.name);
      if (id === undefined || name === undefined) throw invalid(`${where}.content[${index}] tool_use needs id and name`, `${where}.content`);
      toolCalls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      warnings.push({ kind: 'unsupported_content', detail: `content block ${JSON.stringify(block.type ?? null)} at ${where}.content[${index}] has no OpenAI equivalent and was dropped` });
    }
  }
  const text = texts.join('\n');
  if (toolCalls.length === 0) return { role: 'assistant', content: text };
  return { role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls };
}

/** The OpenAI `messages` array for an Anthropic request body. */
export function convertMessages(body: Readonly<Json>, warnings: Warning[]): Json[] {
  const out: Json[] = [];
  if (body.system !== undefined && body.system !== null) {
    if (typeof body.system !== 'string' && !Array.isArray(body.system)) throw invalid('system must be a string or an array of text blocks', 'system');
    const system = textOf(body.system, '\n\n');
    if (system !== '') out.push({ role: 'system', content: system });
  }
  const messages = asArray(body.messages);
  if (!messages) throw invalid('messages must be an array', 'messages');
  for (const [index, message] of messages.entries()) {
    const where = `messages[${index}]`;
    if (!isRecord(message)) throw invalid(`${where} must be an object`, 'messages');
    if (message.role === 'user') out.push(...convertUser(message.content, where, warnings));
    else if (message.role === 'assistant') out.push(convertAssistant(message.content, where, warnings));
    else throw invalid(`${where}.role must be "user" or "assistant"`, 'messages');
  }
  return out;
}
