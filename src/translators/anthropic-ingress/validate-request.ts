/**
 * Shape checks for Anthropic Messages requests, so a request the Messages API would reject gets its 400
 * (`invalid_request_error`) from the service instead of being translated or passed through: to a backend that is
 * not Claude the translation would otherwise guess, and to Claude it would cost an upstream round trip.
 *
 * Only types and required fields are checked, never values the API might accept (an unknown content block
 * type, a new tool kind, an extra field): a request that passes here may still be refused upstream, but no
 * request the API accepts is refused here.
 * @see https://platform.claude.com/docs/en/api/messages/create
 * @see https://platform.claude.com/docs/en/api/messages/count_tokens
 */
import { isRecord } from '../../core/json.js';

export interface RequestProblem {
  /** The field, e.g. `messages.0.content`. */
  readonly param: string;
  readonly message: string;
}

type Check = (value: unknown, path: string) => RequestProblem | undefined;

const problem = (param: string, what: string): RequestProblem => ({ param, message: `${param}: ${what}` });

const isBlock = (value: unknown): boolean => isRecord(value) && typeof value['type'] === 'string';

const checkContent: Check = (value, path) => {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value)) return problem(path, 'must be a string or an array of content blocks');
  const index = value.findIndex((block) => !isBlock(block));
  return index === -1 ? undefined : problem(`${path}.${index}`, 'must be a content block object with a string `type`');
};

const checkMessages: Check = (value, path) => {
  if (!Array.isArray(value)) return problem(path, 'must be an array of messages');
  for (const [index, message] of value.entries()) {
    const at = `${path}.${index}`;
    if (!isRecord(message)) return problem(at, 'must be an object with `role` and `content`');
    if (message['role'] !== 'user' && message['role'] !== 'assistant') return problem(`${at}.role`, 'must be "user" or "assistant"');
    if (!('content' in message)) return problem(`${at}.content`, 'field required');
    const content = checkContent(message['content'], `${at}.content`);
    if (content) return content;
  }
  return undefined;
};

const checkSystem: Check = (value, path) => {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value) || !value.every(isBlock)) return problem(path, 'must be a string or an array of text blocks');
  return undefined;
};

const checkTools: Check = (value, path) => {
  if (!Array.isArray(value)) return problem(path, 'must be an array of tools');
  const index = value.findIndex((tool) => !isRecord(tool) || typeof tool['name'] !== 'string');
  return index === -1 ? undefined : problem(`${path}.${index}`, 'must be a tool object with a string `name`');
};

const objectWithType: Check = (value, path) => (isBlock(value) ? undefined : problem(path, 'must be an object with a string `type`'));
const number: Check = (value, path) => (typeof value === 'number' && Number.isFinite(value) ? undefined : problem(path, 'must be a number'));
const integer: Check = (value, path) => (Number.isInteger(value) ? undefined : problem(path, 'must be an integer'));
const boolean: Check = (value, path) => (typeof value === 'boolean' ? undefined : problem(path, 'must be a boolean'));
const object: Check = (value, path) => (isRecord(value) ? undefined : problem(path, 'must be an object'));
const strings: Check = (value, path) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? undefined : problem(path, 'must be an array of strings'));
const string: Check = (value, path) => (typeof value === 'string' ? undefined : problem(path, 'must be a string'));

const maxTokens: Check = (value, path) => {
  if (!Number.isInteger(value)) return problem(path, 'must be an integer');
  return (value as number) >= 1 ? undefined : problem(path, 'must be at least 1');
};

/** Optional fields of both endpoints: the checker for each (null is refused, as the API refuses it). */
const SHARED: Readonly<Record<string, Check>> = {
  system: checkSystem,
  tools: checkTools,
  tool_choice: objectWithType,
  thinking: objectWithType,
};

const MESSAGES_ONLY: Readonly<Record<string, Check>> = {
  stream: boolean,
  temperature: number,
  top_p: number,
  top_k: integer,
  stop_sequences: strings,
  metadata: object,
  service_tier: string,
};

/**
 * The first problem with a Messages (`countTokens` false) or count_tokens request body, or undefined. `model` is
 * checked by the caller.
 */
export function validateAnthropicRequest(body: Readonly<Record<string, unknown>>, countTokens: boolean): RequestProblem | undefined {
  if (!('messages' in body)) return problem('messages', 'field required');
  const messages = checkMessages(body['messages'], 'messages');
  if (messages) return messages;
  if (!countTokens) {
    if (!('max_tokens' in body)) return problem('max_tokens', 'field required');
    const tokens = maxTokens(body['max_tokens'], 'max_tokens');
    if (tokens) return tokens;
  }
  const optional = countTokens ? SHARED : { ...SHARED, ...MESSAGES_ONLY };
  for (const [field, check] of Object.entries(optional)) {
    const value = body[field];
    if (value === undefined) continue;
    const found = check(value, field);
    if (found) return found;
  }
  return undefined;
}
