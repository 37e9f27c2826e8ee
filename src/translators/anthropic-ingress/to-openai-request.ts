/**
 * Anthropic Messages request -> OpenAI chat completions request: the pivot body (pivot.ts) for every backend that is
 * not Claude. PivotOptions (to-openai-messages.ts) say what is kept beyond plain OpenAI for a backend.
 *
 * - `model` -> the upstream model; `system`/`messages` -> to-openai-messages.ts.
 * - `max_tokens` -> `max_completion_tokens` (the field current OpenAI models accept; `max_tokens` is rejected by
 *   reasoning models). `stop_sequences` -> `stop`; `temperature`, `top_p` kept; `metadata.user_id` -> `user`.
 * - `tools` (custom tools) -> function tools (`input_schema` -> `parameters`, `strict` kept). Anthropic server
 *   tools (web search, bash, computer, ...) run on Anthropic's side and have no OpenAI form: 422.
 * - `tool_choice`: auto -> "auto", any -> "required", tool -> {type: function, function: {name}}, none -> "none";
 *   `disable_parallel_tool_use: true` -> `parallel_tool_calls: false`; without tools, tool_choice is left out.
 * - `thinking: {type: enabled, budget_tokens}` -> `reasoning_effort` (< 4096 low, < 16384 medium, else high);
 *   `output_config.effort` (low/medium/high/max) wins when present; with `vendorThinking` the `thinking` object is
 *   sent as is instead (its exact budget). `output_config.format` (json_schema) -> `response_format`.
 * - `service_tier`: auto -> auto, standard_only -> default. `top_k` is kept with `topK`; tools keep `cache_control`
 *   with `cacheControl`.
 * - `stream: true` -> `stream` plus `stream_options.include_usage: true` (always, unless the backend disables
 *   stream_options): the usage chunk is what closes the Anthropic stream with its usage.
 * - `top_k` (unless kept) and other Anthropic-only fields (container, mcp_servers, context_management, ...) are
 *   dropped with an `unsupported_parameter` warning.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import type { RequestContext, Warning } from '../types.js';
import { bedrockBetaFlags } from './native-request.js';
import { convertMessages, OPENAI_PIVOT, type PivotOptions } from './to-openai-messages.js';

type Json = Record<string, unknown>;

/** Fields this translator reads; anything else is reported as unsupported. */
const HANDLED = new Set([
  'model', 'system', 'messages', 'max_tokens', 'stop_sequences', 'temperature', 'top_p', 'metadata', 'tools',
  'tool_choice', 'thinking', 'output_config', 'stream', 'service_tier',
]);

/** Anthropic `service_tier` -> OpenAI's: `auto` is the same, `standard_only` is OpenAI's `default`. */
const SERVICE_TIERS: Readonly<Record<string, string>> = { auto: 'auto', standard_only: 'default' };

function invalid(message: string, param: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', `invalid request body: ${message}`, { param });
}

function convertTools(value: unknown, options: PivotOptions): Json[] | undefined {
  const tools = asArray(value);
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    if (!isRecord(tool)) throw invalid(`tools[${index}] must be an object`, 'tools');
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      throw invalid(`tools[${index}] of type ${JSON.stringify(tool.type)} is an Anthropic server tool; OpenAI backends support only custom tools`, 'tools');
    }
    const name = asString(tool.name);
    if (name === undefined) throw invalid(`tools[${index}].name is required`, 'tools');
    const fn: Json = { name };
    if (typeof tool.description === 'string') fn.description = tool.description;
    fn.parameters = isRecord(tool.input_schema) ? tool.input_schema : { type: 'object', properties: {} };
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    const cache = options.cacheControl && isRecord(tool.cache_control) ? { cache_control: tool.cache_control } : {};
    return { type: 'function', function: fn, ...cache };
  });
}

function convertToolChoice(value: unknown, out: Json): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) throw invalid('tool_choice must be an object', 'tool_choice');
  // OpenAI rejects tool_choice without tools; with no tools there is nothing to choose.
  if (out.tools === undefined) return;
  if (value.type === 'auto') out.tool_choice = 'auto';
  else if (value.type === 'any') out.tool_choice = 'required';
  else if (value.type === 'none') out.tool_choice = 'none';
  else if (value.type === 'tool' && typeof value.name === 'string') out.tool_choice = { type: 'function', function: { name: value.name } };
  else throw invalid(`tool_choice ${JSON.stringify(value.type ?? null)} is not supported`, 'tool_choice');
  if (value.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
}

const EFFORTS: Readonly<Record<string, string>> = { low: 'low', medium: 'medium', high: 'high', max: 'high' };

/** `reasoning_effort` for `thinking` and `output_config.effort`, or undefined. */
export function reasoningEffortOf(thinking: unknown, outputConfig: unknown): string | undefined {
  const effort = isRecord(outputConfig) ? asString(outputConfig.effort) : undefined;
  if (effort !== undefined && Object.hasOwn(EFFORTS, effort)) return EFFORTS[effort];
  if (!isRecord(thinking) || thinking.type !== 'enabled') return undefined;
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0;
  if (budget < 4096) return 'low';
  return budget < 16384 ? 'medium' : 'high';
}

function responseFormatOf(outputConfig: unknown): Json | undefined {
  const format = isRecord(outputConfig) && isRecord(outputConfig.format) ? outputConfig.format : undefined;
  if (format?.type !== 'json_schema' || !isRecord(format.schema)) return undefined;
  return { type: 'json_schema', json_schema: { name: 'response', schema: format.schema, strict: true } };
}

/** The `thinking` object with its budget lowered to the backend's maximum, if it has one. */
function cappedThinking(thinking: Json, cap: number | undefined, warnings: Warning[]): Json {
  const budget = thinking.budget_tokens;
  if (cap === undefined || thinking.type !== 'enabled' || typeof budget !== 'number' || budget <= cap) return thinking;
  warnings.push({ kind: 'unsupported_parameter', detail: `thinking.budget_tokens ${budget} is above this backend's maximum and was lowered to ${cap}` });
  return { ...thinking, budget_tokens: cap };
}

/** The OpenAI chat completions body for an Anthropic Messages body. */
export function buildOpenAIChatBody(ctx: RequestContext, warnings: Warning[], options: PivotOptions = OPENAI_PIVOT): Json {
  const body = ctx.body;
  const out: Json = { model: ctx.upstreamModel, messages: convertMessages(body, warnings, options) };
  if (typeof body.max_tokens === 'number') out.max_completion_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  const stops = (asArray(body.stop_sequences) ?? []).filter((stop): stop is string => typeof stop === 'string');
  if (stops.length > 0) out.stop = stops;
  const user = isRecord(body.metadata) ? asString(body.metadata.user_id) : undefined;
  if (user !== undefined) out.user = user;
  const tools = convertTools(body.tools, options);
  if (tools) out.tools = tools;
  convertToolChoice(body.tool_choice, out);
  if (options.vendorThinking && isRecord(body.thinking)) {
    out.thinking = cappedThinking(body.thinking, options.thinkingBudgetCap, warnings);
  } else {
    const effort = reasoningEffortOf(body.thinking, body.output_config);
    if (effort !== undefined) out.reasoning_effort = effort;
  }
  if (options.topK && typeof body.top_k === 'number') out.top_k = body.top_k;
  if (options.anthropicBeta) {
    const betas = bedrockBetaFlags(ctx.requestHeaders?.get('anthropic-beta'), warnings);
    if (betas.length > 0) out.anthropic_beta = betas;
  }
  const tier = asString(body.service_tier);
  if (tier !== undefined && Object.hasOwn(SERVICE_TIERS, tier)) out.service_tier = SERVICE_TIERS[tier];
  const responseFormat = responseFormatOf(body.output_config);
  if (responseFormat) out.response_format = responseFormat;
  if (ctx.stream) {
    out.stream = true;
    if (ctx.backend.streamOptions) out.stream_options = { include_usage: true };
  }
  for (const key of Object.keys(body)) {
    if (!HANDLED.has(key) && !(key === 'top_k' && options.topK)) warnings.push({ kind: 'unsupported_parameter', detail: `${key.slice(0, 100)} has no OpenAI equivalent and was dropped` });
  }
  return out;
}
