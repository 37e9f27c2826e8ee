/** The text a buffered response delivers to the client (OpenAI chat, Responses or Anthropic shape), for local token counting. */
import { asArray, asString, isRecord, safeParseJson } from '../core/json.js';

function openAIText(body: Record<string, unknown>, parts: string[]): void {
  for (const choice of asArray(body['choices']) ?? []) {
    if (!isRecord(choice)) continue;
    const text = asString(choice['text']);
    if (text) parts.push(text);
    const message = choice['message'];
    if (!isRecord(message)) continue;
    for (const key of ['content', 'reasoning_content']) {
      const value = asString(message[key]);
      if (value) parts.push(value);
    }
    for (const call of asArray(message['tool_calls']) ?? []) {
      const fn = isRecord(call) ? call['function'] : undefined;
      if (isRecord(fn)) parts.push(asString(fn['name']) ?? '', asString(fn['arguments']) ?? '');
    }
  }
}

function anthropicText(body: Record<string, unknown>, parts: string[]): void {
  for (const block of asArray(body['content']) ?? []) {
    if (!isRecord(block)) continue;
    const text = asString(block['text']) ?? asString(block['thinking']);
    if (text) parts.push(text);
    if (block['type'] === 'tool_use') parts.push(asString(block['name']) ?? '', JSON.stringify(block['input'] ?? {}));
  }
}

/** Responses `output` items: message text and refusals, function call arguments, reasoning text. */
function responsesText(body: Record<string, unknown>, parts: string[]): void {
  for (const item of asArray(body['output']) ?? []) {
    if (!isRecord(item)) continue;
    if (item['type'] === 'function_call') parts.push(asString(item['name']) ?? '', asString(item['arguments']) ?? '');
    for (const part of [...(asArray(item['content']) ?? []), ...(asArray(item['summary']) ?? [])]) {
      if (!isRecord(part)) continue;
      const text = asString(part['text']) ?? asString(part['refusal']);
      if (text) parts.push(text);
    }
  }
}

export function deliveredTextOf(body: Uint8Array): string {
  const parsed = safeParseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return '';
  const parts: string[] = [];
  openAIText(parsed.value, parts);
  anthropicText(parsed.value, parts);
  responsesText(parsed.value, parts);
  return parts.join('');
}
