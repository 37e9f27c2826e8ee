/**
 * Request-side caps (config `limits`), checked on the parsed body before anything is estimated, reserved, translated
 * or forwarded: the number of messages, tool declarations and content parts, and the output size asked for.
 * Each breach is a 400 in the client's format with its own code (`too_many_messages`, `too_many_tools`,
 * `too_many_content_parts`, `max_tokens_too_large`), which is also the reason counted in llm_extproc_errors_total.
 */
import type { ConfigFile, ModelConfig } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { asArray, isRecord } from '../core/json.js';

type Limits = ConfigFile['limits'];

/** The fields that cap a reply's length: OpenAI chat (both), Anthropic Messages, Responses-style. */
const OUTPUT_TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

function length(value: unknown): number {
  return asArray(value)?.length ?? 0;
}

/** The items of a Responses `input` array (objects; an embeddings `input` holds strings or tokens). */
function responsesItems(body: Readonly<Record<string, unknown>>): unknown[] {
  return (asArray(body['input']) ?? []).filter(isRecord);
}

/**
 * Content parts of a request: the elements of every message's content array (and of the content arrays nested in
 * Anthropic tool_result blocks), of an Anthropic `system` array, and of an `input` (embeddings, or the items of a
 * Responses request with their content arrays) or `prompt` (completions) array.
 */
export function countContentParts(body: Readonly<Record<string, unknown>>): number {
  let parts = length(body['system']) + length(body['input']) + length(body['prompt']);
  for (const message of [...(asArray(body['messages']) ?? []), ...responsesItems(body)]) {
    if (!isRecord(message)) continue;
    const content = asArray(message['content']);
    if (!content) continue;
    parts += content.length;
    for (const part of content) if (isRecord(part)) parts += length(part['content']);
  }
  return parts;
}

/** Throws a 400 GatewayError for the first cap the request passes. */
export function checkRequestLimits(body: Readonly<Record<string, unknown>>, limits: Limits, model: ModelConfig): void {
  // Responses input items are the messages of a Responses request.
  const items = responsesItems(body).length;
  const messages = length(body['messages']) + items;
  if (messages > limits.maxMessages) {
    throw new GatewayError('ERR_TOO_MANY_MESSAGES', `the request has ${messages} messages; this gateway accepts at most ${limits.maxMessages}`, { param: items > 0 ? 'input' : 'messages' });
  }
  const tools = length(body['tools']) + length(body['functions']);
  if (tools > limits.maxTools) {
    throw new GatewayError('ERR_TOO_MANY_TOOLS', `the request declares ${tools} tools; this gateway accepts at most ${limits.maxTools}`, { param: 'tools' });
  }
  const parts = countContentParts(body);
  if (parts > limits.maxContentParts) {
    throw new GatewayError('ERR_TOO_MANY_CONTENT_PARTS', `the request has ${parts} content parts; this gateway accepts at most ${limits.maxContentParts}`, { param: 'messages' });
  }
  const maxOutput = model.maxOutputTokens ?? limits.maxOutputTokens;
  for (const field of OUTPUT_TOKEN_FIELDS) {
    const value = body[field];
    if (typeof value === 'number' && value > maxOutput) {
      throw new GatewayError('ERR_MAX_TOKENS_TOO_LARGE', `\`${field}\` is ${value}; model ${model.name} accepts at most ${maxOutput} output tokens through this gateway`, { param: field });
    }
  }
}
