/**
 * OpenAI `messages` -> Gemini `contents` + `systemInstruction`.
 *
 * - system and developer messages, wherever they appear, join `systemInstruction.parts` in order;
 * - roles are `user` and `model` only: assistant -> model; tool (and legacy function) results -> user
 *   `functionResponse` parts; consecutive same-role turns are merged, so parallel results form one turn;
 * - a functionResponse needs the function name, looked up from the assistant tool call with that id (a result
 *   without a known call is a 422: Gemini rejects it anyway);
 * - assistant messages with no text and no tool calls are dropped (Gemini rejects empty parts);
 * - `name` fields have no Gemini equivalent and are ignored (one `unsupported_parameter` warning);
 * - tool call ids and thought signatures: see tool-call-id.ts and model-generation.ts.
 *
 * @see https://ai.google.dev/api/caching#Content
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 */
import { asArray, asString, isRecord, parseJsonObject, safeParseJson } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { Warning } from '../types.js';
import { contentText, convertUserContent } from './convert-parts.js';
import type { JsonObject } from './gemini-types.js';
import type { GeminiGeneration } from './model-generation.js';
import { decodeToolCallId, SKIP_SIGNATURE, vendorSignature } from './tool-call-id.js';

export interface ConvertedMessages {
  readonly contents: JsonObject[];
  readonly systemInstruction: JsonObject | undefined;
  readonly warnings: Warning[];
}

interface Turn {
  role: 'user' | 'model';
  parts: JsonObject[];
}

function invalid(message: string, param: string): never {
  throw new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

class MessageConverter {
  readonly turns: Turn[] = [];
  readonly system: JsonObject[] = [];
  readonly warnings: Warning[] = [];
  /** Tool call id (without signature suffix) -> function name. */
  private readonly callNames = new Map<string, string>();
  private warnedName = false;

  constructor(private readonly generation: GeminiGeneration) {}

  push(role: Turn['role'], parts: JsonObject[]): void {
    if (parts.length === 0) return;
    const last = this.turns[this.turns.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else this.turns.push({ role, parts });
  }

  message(message: unknown, param: string): void {
    if (!isRecord(message)) invalid('each message must be an object', param);
    const named = message.role !== 'tool' && message.role !== 'function' && message.name !== undefined;
    if (named && !this.warnedName) {
      this.warnedName = true;
      this.warnings.push({ kind: 'unsupported_parameter', detail: 'messages[].name is not supported by Gemini and was ignored' });
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        for (const text of contentText(message.content, `${param}.content`)) this.system.push({ text });
        return;
      case 'user':
        this.push('user', convertUserContent(message.content, `${param}.content`));
        return;
      case 'assistant':
        this.push('model', this.assistantParts(message, param));
        return;
      case 'tool':
        this.toolResult(asString(message.tool_call_id), undefined, message.content, param);
        return;
      case 'function':
        this.toolResult(undefined, asString(message.name), message.content, param);
        return;
      default:
        invalid(`unknown message role "${String(message.role)}"`, `${param}.role`);
    }
  }

  private assistantParts(message: JsonObject, param: string): JsonObject[] {
    const parts: JsonObject[] = contentText(message.content, `${param}.content`).map((text) => ({ text }));
    const calls: JsonObject[] = [];
    let signed = false;
    for (const [index, raw] of (asArray(message.tool_calls) ?? []).entries()) {
      const at = `${param}.tool_calls[${index}]`;
      if (!isRecord(raw) || (raw.type !== undefined && raw.type !== 'function') || !isRecord(raw.function)) {
        invalid('only function tool calls are supported for Gemini', at);
      }
      const name = asString(raw.function.name);
      if (!name) invalid('tool calls need function.name', at);
      const decoded = decodeToolCallId(asString(raw.id) ?? '');
      if (decoded.id) this.callNames.set(decoded.id, name);
      const signature = vendorSignature(raw) ?? decoded.signature;
      if (signature) signed = true;
      const functionCall: JsonObject = { name, args: parseArguments(raw.function.arguments, `${at}.function.arguments`) };
      if (this.generation === 'current' && decoded.id) functionCall.id = decoded.id;
      calls.push(signature ? { functionCall, thoughtSignature: signature } : { functionCall });
    }
    // Gemini 3 validates a signature on the first call of each model step; calls it did not produce get the placeholder.
    const first = calls[0];
    if (first && !signed && this.generation === 'current') first.thoughtSignature = SKIP_SIGNATURE;
    return [...parts, ...calls];
  }

  private toolResult(callId: string | undefined, legacyName: string | undefined, content: unknown, param: string): void {
    const id = callId === undefined ? '' : decodeToolCallId(callId).id;
    const name = (id && this.callNames.get(id)) || legacyName;
    if (!name) invalid(`tool result "${callId ?? ''}" does not answer any earlier assistant tool call`, `${param}.tool_call_id`);
    const text = contentText(content, `${param}.content`).join('');
    const response = parseJsonObject(text) ?? { output: text };
    const functionResponse: JsonObject = { name };
    if (this.generation === 'current' && id) functionResponse.id = id;
    functionResponse.response = response;
    this.push('user', [{ functionResponse }]);
  }
}

function parseArguments(value: unknown, param: string): JsonObject {
  if (value === undefined || value === null || value === '') return {};
  if (isRecord(value)) return value;
  if (typeof value !== 'string') invalid('function.arguments must be a JSON string', param);
  const parsed = safeParseJson(value);
  if (!parsed.ok || !isRecord(parsed.value)) invalid('function.arguments must be a JSON object', param);
  return parsed.value;
}

export function convertMessages(messages: unknown, generation: GeminiGeneration): ConvertedMessages {
  const list = asArray(messages);
  if (!list) invalid('"messages" must be an array', 'messages');
  const converter = new MessageConverter(generation);
  for (const [index, message] of list.entries()) converter.message(message, `messages[${index}]`);
  if (converter.turns.length === 0) invalid('Gemini needs at least one user or assistant message with content', 'messages');
  return {
    contents: converter.turns.map((turn) => ({ role: turn.role, parts: turn.parts })),
    systemInstruction: converter.system.length > 0 ? { parts: converter.system } : undefined,
    warnings: converter.warnings,
  };
}
