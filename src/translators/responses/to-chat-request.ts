/**
 * A stateless Responses request -> the OpenAI chat completions body every chat translator reads (pivot.ts).
 *
 * - `model` -> the upstream model; `instructions` + `input` -> `messages` (to-chat-messages.ts).
 * - `max_output_tokens` -> `max_completion_tokens`; `temperature`, `top_p`, `parallel_tool_calls`,
 *   `service_tier` kept; `user` (or `safety_identifier`) -> `user`.
 * - function `tools` (`{type, name, description, parameters, strict}`) -> chat function tools.
 * - `tool_choice`: "auto" | "none" | "required" kept; `{type: "function", name}` -> `{type: "function", function:
 *   {name}}`; `{type: "allowed_tools", mode}` -> its mode ("auto" or "required"), with a warning (the allowed
 *   list is not enforced). Without tools, tool_choice is left out.
 * - `text.format`: json_schema -> `response_format: {type: "json_schema", json_schema: {name, schema, strict,
 *   description}}`; json_object -> `{type: "json_object"}`; text -> nothing.
 * - `reasoning.effort` -> `reasoning_effort` (the chat translators map it per provider). `reasoning.summary` needs
 *   nothing upstream: it says how the reasoning the provider returns is labelled (convert-response.ts).
 * - `stream` -> `stream` plus `stream_options.include_usage` (unless the backend disables stream_options).
 * - `include`: reasoning.encrypted_content is always honoured (signed thinking is returned); other entries warn.
 * - `store: true` is served as not stored, with a warning; `metadata`, `truncation`, `text.verbosity`,
 *   `prompt_cache_key`, `top_logprobs` and other fields have no chat equivalent here and are dropped with a warning.
 * Stateful fields were refused before this runs (check-stateless.ts).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import type { RequestContext, Warning } from '../types.js';
import { convertInput } from './to-chat-messages.js';

type Json = Record<string, unknown>;

/** Fields read here (or validated as absent by check-stateless.ts); anything else is reported as dropped. */
const HANDLED = new Set([
  'model', 'input', 'instructions', 'max_output_tokens', 'temperature', 'top_p', 'parallel_tool_calls', 'service_tier',
  'user', 'safety_identifier', 'tools', 'tool_choice', 'text', 'reasoning', 'stream', 'store', 'previous_response_id',
  'conversation', 'background', 'prompt', 'include',
]);

function invalid(message: string, param: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', `invalid request body: ${message}`, { param });
}

function convertTools(value: unknown): Json[] | undefined {
  const tools = asArray(value);
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    if (!isRecord(tool)) throw invalid('tools must be objects', `tools[${index}]`);
    const name = asString(tool.name);
    if (!name) throw invalid('a function tool needs a name', `tools[${index}].name`);
    const fn: Json = { name, parameters: isRecord(tool.parameters) ? tool.parameters : { type: 'object', properties: {} } };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function convertToolChoice(value: unknown, out: Json, warnings: Warning[]): void {
  if (value === undefined || value === null || out.tools === undefined) return;
  if (value === 'auto' || value === 'none' || value === 'required') {
    out.tool_choice = value;
    return;
  }
  if (isRecord(value) && value.type === 'function' && typeof value.name === 'string') {
    out.tool_choice = { type: 'function', function: { name: value.name } };
    return;
  }
  if (isRecord(value) && value.type === 'allowed_tools') {
    out.tool_choice = value.mode === 'required' ? 'required' : 'auto';
    warnings.push({ kind: 'unsupported_parameter', detail: 'tool_choice allowed_tools: the list is not enforced, only its mode' });
    return;
  }
  throw invalid('tool_choice is not supported', 'tool_choice');
}

function responseFormatOf(text: unknown, warnings: Warning[]): Json | undefined {
  if (!isRecord(text)) return undefined;
  if (text.verbosity !== undefined && text.verbosity !== null) warnings.push({ kind: 'unsupported_parameter', detail: 'text.verbosity has no equivalent on this backend and was dropped' });
  const format = text.format;
  if (!isRecord(format) || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type !== 'json_schema') throw invalid(`text.format of type ${JSON.stringify(format.type ?? null).slice(0, 40)} is not supported`, 'text.format.type');
  if (!isRecord(format.schema)) throw invalid('text.format.schema must be an object', 'text.format.schema');
  const jsonSchema: Json = { name: asString(format.name) ?? 'response', schema: format.schema };
  if (typeof format.strict === 'boolean') jsonSchema.strict = format.strict;
  if (typeof format.description === 'string') jsonSchema.description = format.description;
  return { type: 'json_schema', json_schema: jsonSchema };
}

/** What the conversion reads of a request (a whole RequestContext, or a count's body alone). */
export type ChatBodySource = Pick<RequestContext, 'body' | 'upstreamModel' | 'stream'> & { readonly backend: Pick<RequestContext['backend'], 'streamOptions'> };

/** The chat completions body for a Responses body. */
export function buildChatBody(ctx: ChatBodySource, warnings: Warning[]): Json {
  const body = ctx.body;
  const out: Json = { model: ctx.upstreamModel, messages: convertInput(body, warnings) };
  if (typeof body.max_output_tokens === 'number') out.max_completion_tokens = body.max_output_tokens;
  for (const key of ['temperature', 'top_p'] as const) if (typeof body[key] === 'number') out[key] = body[key];
  if (typeof body.parallel_tool_calls === 'boolean') out.parallel_tool_calls = body.parallel_tool_calls;
  const tier = asString(body.service_tier);
  if (tier !== undefined) out.service_tier = tier;
  const user = asString(body.user) ?? asString(body.safety_identifier);
  if (user !== undefined) out.user = user;
  const tools = convertTools(body.tools);
  if (tools) out.tools = tools;
  convertToolChoice(body.tool_choice, out, warnings);
  const responseFormat = responseFormatOf(body.text, warnings);
  if (responseFormat) out.response_format = responseFormat;
  const effort = isRecord(body.reasoning) ? asString(body.reasoning.effort) : undefined;
  if (effort !== undefined) out.reasoning_effort = effort;
  // reasoning.encrypted_content is always returned (signed thinking, see response-object.ts); nothing else is.
  const include = (asArray(body.include) ?? []).filter((entry) => entry !== 'reasoning.encrypted_content');
  if (include.length > 0) warnings.push({ kind: 'unsupported_parameter', detail: `include ${JSON.stringify(include).slice(0, 100)} has no equivalent on this backend and was dropped` });
  if (body.store === true) warnings.push({ kind: 'unsupported_parameter', detail: 'store: responses are not stored by this backend (served as store: false)' });
  if (ctx.stream) {
    out.stream = true;
    if (ctx.backend.streamOptions) out.stream_options = { include_usage: true };
  }
  for (const key of Object.keys(body)) {
    if (!HANDLED.has(key) && body[key] !== null) warnings.push({ kind: 'unsupported_parameter', detail: `${key.slice(0, 100)} has no equivalent on this backend and was dropped` });
  }
  return out;
}
