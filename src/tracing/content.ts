/**
 * Prompt and completion content for spans, recorded only when capture is turned on: the request's messages as the
 * GenAI conventions' message list (text parts with their text; images, audio and files named by type only), capped
 * in size, with any Bearer/Basic credential inside the text censored.
 */
import { asArray, asString, isRecord } from '../core/json.js';
import { redactText } from '../logging.js';

export interface MessagePart {
  readonly type: string;
  readonly content?: string;
  readonly name?: string;
  readonly arguments?: string;
}

export interface ChatMessage {
  readonly role: string;
  readonly parts: MessagePart[];
  readonly finish_reason?: string;
}

const TRUNCATED = '…[truncated]';

/** Text capped at `max` characters (marked when cut), credentials censored. */
export function capText(text: string, max: number): string {
  const clean = redactText(text);
  return clean.length <= max ? clean : `${clean.slice(0, Math.max(0, max - TRUNCATED.length))}${TRUNCATED}`;
}

function partsOf(content: unknown): MessagePart[] {
  if (typeof content === 'string') return [{ type: 'text', content }];
  const parts: MessagePart[] = [];
  for (const block of asArray(content) ?? []) {
    if (typeof block === 'string') parts.push({ type: 'text', content: block });
    if (!isRecord(block)) continue;
    const type = asString(block['type']) ?? 'unknown';
    const text = asString(block['text']) ?? asString(block['thinking']);
    if (text !== undefined) parts.push({ type: type === 'thinking' ? 'reasoning' : 'text', content: text });
    else if (type === 'tool_use') parts.push({ type: 'tool_call', name: asString(block['name']) ?? '', arguments: JSON.stringify(block['input'] ?? {}) });
    else if (type === 'tool_result') parts.push({ type: 'tool_call_response', content: typeof block['content'] === 'string' ? block['content'] : JSON.stringify(block['content'] ?? '') });
    // Images, audio, files: named only, never their (large, possibly private) data.
    else parts.push({ type });
  }
  return parts;
}

function toolCallParts(message: Record<string, unknown>): MessagePart[] {
  const parts: MessagePart[] = [];
  for (const call of asArray(message['tool_calls']) ?? []) {
    const fn = isRecord(call) ? call['function'] : undefined;
    if (isRecord(fn)) parts.push({ type: 'tool_call', name: asString(fn['name']) ?? '', arguments: asString(fn['arguments']) ?? '' });
  }
  return parts;
}

/** The request's input as a message list: chat and Anthropic messages, a completion prompt, embedding input. */
export function inputMessages(body: Readonly<Record<string, unknown>>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (body['system'] !== undefined) messages.push({ role: 'system', parts: partsOf(body['system']) });
  for (const message of asArray(body['messages']) ?? []) {
    if (!isRecord(message)) continue;
    messages.push({ role: asString(message['role']) ?? 'user', parts: [...partsOf(message['content']), ...toolCallParts(message)] });
  }
  for (const key of ['prompt', 'input']) {
    const value = body[key];
    if (value === undefined) continue;
    const texts = typeof value === 'string' ? [value] : (asArray(value) ?? []).filter((item): item is string => typeof item === 'string');
    messages.push({ role: 'user', parts: texts.map((content) => ({ type: 'text', content })) });
  }
  return messages;
}

/** JSON of a message list, capped at `max` characters. */
export function messagesJson(messages: readonly ChatMessage[], max: number): string {
  return capText(JSON.stringify(messages), max);
}
