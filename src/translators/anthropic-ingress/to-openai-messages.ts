/**
 * Anthropic Messages `system` + `messages` -> OpenAI chat `messages`, the pivot every non-Claude backend is reached
 * through (pivot.ts). Plain OpenAI for OpenAI and Azure; for the backends whose OpenAI translators read our vendor
 * fields (Bedrock Converse, Gemini), the PivotOptions keep what both ends can express.
 *
 * - `system` (string or text blocks) -> one leading `system` message (blocks joined with a blank line), or, with
 *   `cacheControl`, one text part per block carrying its `cache_control`.
 * - user text -> text parts; `image` (base64 or url source) -> `image_url` (base64 as a data URL); a PDF
 *   `document` (base64) -> a `file` part with `file_data`; a plain-text `document` -> a text part. With
 *   `cacheControl`, each part keeps its block's `cache_control`.
 * - user `tool_result` blocks -> `tool` messages (tool_call_id = tool_use_id), placed before the rest of the user
 *   turn, since OpenAI wants tool results right after the assistant's tool calls. Text content becomes the tool
 *   message text; images in a tool result follow in a user message (OpenAI tool messages carry only text), or stay
 *   in the tool message as parts with `toolResultImages`. A `cache_control` on the result is kept on the tool
 *   message (`cacheControl`). OpenAI has no `is_error`: the result text is sent as is (with `toolErrors`, the
 *   tool message carries `is_error: true`, which Bedrock Converse sends as `status: error`).
 * - assistant text -> `content`; `tool_use` -> `tool_calls` (input serialised as `arguments`).
 * - `thinking` / `redacted_thinking` blocks are dropped for OpenAI (it takes no reasoning input); with
 *   `thinkingBlocks`, signed ones go back as the `thinking_blocks` vendor field (plus `reasoning_content`), which
 *   Claude on Bedrock needs to continue a tool loop. Unsigned thinking (from a non-Claude model) is never sent back.
 * - `cache_control` is dropped unless `cacheControl`. Other block types are dropped with an `unsupported_content`
 *   warning.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';

type Json = Record<string, unknown>;

/** What the pivot keeps beyond plain OpenAI chat, per target backend. */
export interface PivotOptions {
  /** `cache_control` on system parts, user parts, tool messages, assistant messages and tools. */
  readonly cacheControl: boolean;
  /** Signed `thinking` / `redacted_thinking` blocks of earlier assistant turns as `thinking_blocks`. */
  readonly thinkingBlocks: boolean;
  /** The Anthropic `thinking` object as the vendor `thinking` field (its exact budget) instead of reasoning_effort. */
  readonly vendorThinking: boolean;
  /** `top_k` as a vendor field. */
  readonly topK: boolean;
  /** Images in tool results stay in the tool message, as parts. */
  readonly toolResultImages: boolean;
  /** A tool result's `is_error: true` as the `is_error` vendor field of the tool message. */
  readonly toolErrors?: boolean;
  /** The client's `anthropic-beta` flags that Claude on Bedrock accepts, as the `anthropic_beta` vendor field. */
  readonly anthropicBeta?: boolean;
  /** With `vendorThinking`: the largest thinking budget the backend takes (larger ones are lowered, with a warning). */
  readonly thinkingBudgetCap?: number;
}

/** Plain OpenAI chat completions (OpenAI, Azure and OpenAI-compatible servers). */
export const OPENAI_PIVOT: PivotOptions = { cacheControl: false, thinkingBlocks: false, vendorThinking: false, topK: false, toolResultImages: false };

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

/** The block's `cache_control`, when the pivot keeps it. */
function cacheOf(block: Json, options: PivotOptions): Json {
  return options.cacheControl && isRecord(block.cache_control) ? { cache_control: block.cache_control } : {};
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
function userPart(block: Json, where: string, warnings: Warning[], options: PivotOptions): Json | undefined {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: asString(block.text) ?? '', ...cacheOf(block, options) };
    case 'image':
      return { ...imagePart(block, where), ...cacheOf(block, options) };
    case 'document':
      return { ...documentPart(block, where), ...cacheOf(block, options) };
    case 'thinking':
    case 'redacted_thinking':
      return undefined;
    default:
      warnings.push({ kind: 'unsupported_content', detail: `content block ${JSON.stringify(block.type ?? null)} at ${where} has no OpenAI equivalent and was dropped` });
      return undefined;
  }
}

/** OpenAI message content from parts: one plain text part as a string, otherwise the part array. */
function contentOf(parts: readonly Json[]): string | Json[] {
  const only = parts[0];
  if (parts.length === 1 && only?.type === 'text' && only.cache_control === undefined) return asString(only.text) ?? '';
  return [...parts];
}

function toolMessage(block: Json, toolCallId: string, where: string, parts: Json[], options: PivotOptions): Json {
  const message: Json = { role: 'tool', tool_call_id: toolCallId, content: textOf(block.content) };
  const images: Json[] = [];
  for (const [inner, item] of (asArray(block.content) ?? []).entries()) {
    if (isRecord(item) && item.type === 'image') images.push({ ...imagePart(item, `${where}.content[${inner}]`), ...cacheOf(item, options) });
  }
  if (options.toolResultImages && images.length > 0) {
    const text = (asArray(block.content) ?? []).filter(isRecord).filter((item) => item.type === 'text');
    message.content = [...text.map((item) => ({ type: 'text', text: asString(item.text) ?? '', ...cacheOf(item, options) })), ...images];
  } else {
    parts.push(...images);
  }
  Object.assign(message, cacheOf(block, options));
  if (options.toolErrors && block.is_error === true) message.is_error = true;
  return message;
}

function convertUser(content: unknown, where: string, warnings: Warning[], options: PivotOptions): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const blocks = asArray(content);
  if (!blocks) throw invalid(`${where}.content must be a string or an array of content blocks`, `${where}.content`);
  const toolMessages: Json[] = [];
  const parts: Json[] = [];
  for (const [index, block] of blocks.entries()) {
    if (!isRecord(block)) throw invalid(`${where}.content[${index}] must be an object`, `${where}.content`);
    const blockWhere = `${where}.content[${index}]`;
    if (block.type !== 'tool_result') {
      const part = userPart(block, blockWhere, warnings, options);
      if (part) parts.push(part);
      continue;
    }
    const toolCallId = asString(block.tool_use_id);
    if (toolCallId === undefined) throw invalid(`${blockWhere}.tool_use_id is required`, blockWhere);
    toolMessages.push(toolMessage(block, toolCallId, blockWhere, parts, options));
  }
  return parts.length > 0 ? [...toolMessages, { role: 'user', content: contentOf(parts) }] : toolMessages;
}

function convertAssistant(content: unknown, where: string, warnings: Warning[], options: PivotOptions): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  const blocks = asArray(content);
  if (!blocks) throw invalid(`${where}.content must be a string or an array of content blocks`, `${where}.content`);
  const texts: Json[] = [];
  const toolCalls: Json[] = [];
  const thinking: Json[] = [];
  let cache: Json = {};
  for (const [index, block] of blocks.entries()) {
    if (!isRecord(block)) throw invalid(`${where}.content[${index}] must be an object`, `${where}.content`);
    if (block.type === 'text') texts.push({ type: 'text', text: asString(block.text) ?? '', ...cacheOf(block, options) });
    else if (block.type === 'tool_use') {
      const id = asString(block.id);
      const name = asString(block.name);
      if (id === undefined || name === undefined) throw invalid(`${where}.content[${index}] tool_use needs id and name`, `${where}.content`);
      toolCalls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(block.input ?? {}) } });
      cache = { ...cache, ...cacheOf(block, options) };
    } else if (block.type === 'thinking') {
      const signature = asString(block.signature);
      if (options.thinkingBlocks && signature) thinking.push({ type: 'thinking', thinking: asString(block.thinking) ?? '', signature });
    } else if (block.type === 'redacted_thinking') {
      const data = asString(block.data);
      if (options.thinkingBlocks && data) thinking.push({ type: 'redacted_thinking', data });
    } else {
      warnings.push({ kind: 'unsupported_content', detail: `content block ${JSON.stringify(block.type ?? null)} at ${where}.content[${index}] has no OpenAI equivalent and was dropped` });
    }
  }
  const cached = texts.some((part) => part.cache_control !== undefined);
  const text = texts.map((part) => asString(part.text) ?? '').join('\n');
  const message: Json = { role: 'assistant' };
  if (cached) message.content = texts;
  else message.content = toolCalls.length > 0 && text === '' ? null : text;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinking.length > 0) {
    message.thinking_blocks = thinking;
    message.reasoning_content = thinking.map((block) => asString(block.thinking) ?? '').join('');
  }
  return { ...message, ...cache };
}

function convertSystem(system: unknown, options: PivotOptions): Json | undefined {
  if (typeof system !== 'string' && !Array.isArray(system)) throw invalid('system must be a string or an array of text blocks', 'system');
  const cached = options.cacheControl && Array.isArray(system) && system.some((block) => isRecord(block) && isRecord(block.cache_control));
  if (!cached) {
    const text = textOf(system, '\n\n');
    return text === '' ? undefined : { role: 'system', content: text };
  }
  const parts = (system as unknown[])
    .filter(isRecord)
    .filter((block) => block.type === 'text' && asString(block.text))
    .map((block) => ({ type: 'text', text: asString(block.text) ?? '', ...cacheOf(block, options) }));
  return parts.length === 0 ? undefined : { role: 'system', content: parts };
}

/** The OpenAI `messages` array for an Anthropic request body. */
export function convertMessages(body: Readonly<Json>, warnings: Warning[], options: PivotOptions = OPENAI_PIVOT): Json[] {
  const out: Json[] = [];
  if (body.system !== undefined && body.system !== null) {
    const system = convertSystem(body.system, options);
    if (system) out.push(system);
  }
  const messages = asArray(body.messages);
  if (!messages) throw invalid('messages must be an array', 'messages');
  for (const [index, message] of messages.entries()) {
    const where = `messages[${index}]`;
    if (!isRecord(message)) throw invalid(`${where} must be an object`, 'messages');
    if (message.role === 'user') out.push(...convertUser(message.content, where, warnings, options));
    else if (message.role === 'assistant') out.push(convertAssistant(message.content, where, warnings, options));
    else throw invalid(`${where}.role must be "user" or "assistant"`, 'messages');
  }
  return out;
}
