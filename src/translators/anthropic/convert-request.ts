/**
 * An OpenAI chat completion request -> an Anthropic Messages body (shared by Anthropic, GCPAnthropic and
 * AWSAnthropic; only the envelope differs: `model`, `stream`, `anthropic_version`).
 *
 * Parameters:
 * - max tokens: `max_completion_tokens`, else `max_tokens`, else DEFAULT_MAX_TOKENS (Anthropic requires one).
 * - `temperature` must be 0..1 (422 otherwise). With both `temperature` and `top_p`, only `temperature` is sent
 *   (newer Claude models reject the pair) and a warning is added. `top_k` is passed through.
 * - `stop` (string or array) -> `stop_sequences`; `user` -> `metadata.user_id`; `n` > 1 is a 422.
 * - reasoning: a vendor `thinking` object is passed through as is; otherwise `reasoning_effort` maps to
 *   `thinking: {type: enabled, budget_tokens}` with REASONING_BUDGETS (never below 1024, always below
 *   max_tokens). While thinking, `temperature` (other than 1) and `top_k` are dropped with a warning: Claude
 *   rejects them together with thinking. `reasoning_effort` is deliberately not sent as `output_config.effort`:
 *   only the newest models accept effort and the others answer 400; clients can send a vendor `output_config`.
 * - `response_format` json_schema -> native structured output `output_config.format` ({type: json_schema,
 *   schema}). json_object has no native equivalent: a system instruction asks for a JSON object, and a
 *   `emulated_parameter` warning records it. A vendor `output_config` object is merged in (e.g. `effort`).
 * - unsupported OpenAI parameters (penalties, seed, logprobs, ...) add an `unsupported_parameter` warning.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
import { asString, isRecord } from '../../core/json.js';
import type { RequestContext, Warning } from '../types.js';
import { invalidRequest, type AnthropicBlock } from './convert-content.js';
import { convertMessages } from './convert-messages.js';
import { convertToolChoice, convertTools } from './convert-tools.js';

/** max_tokens when the client sets none. */
export const DEFAULT_MAX_TOKENS = 4096;
/** Smallest thinking budget Anthropic accepts. */
export const MIN_THINKING_BUDGET = 1024;
/** reasoning_effort -> thinking.budget_tokens ("none" disables thinking). */
export const REASONING_BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 4096,
  high: 16384,
  xhigh: 32768,
};
export const JSON_OBJECT_INSTRUCTION = 'Respond only with a single valid JSON object, without any surrounding text or code fences.';

const UNSUPPORTED_PARAMETERS = [
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'seed',
  'modalities',
  'audio',
  'prediction',
  'web_search_options',
] as const;

export interface BuildOptions {
  /** Put `model` (ctx.upstreamModel) in the body (first-party API). */
  readonly includeModel: boolean;
  /** Put `stream: true` in the body when the client streams. */
  readonly includeStream: boolean;
  /** Body field `anthropic_version` (Vertex, Bedrock). */
  readonly anthropicVersion?: string;
  /** Warnings are appended here when given. */
  readonly warnings?: Warning[];
}

function positiveInteger(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidRequest(`${param} must be a positive integer`, param);
  return value;
}

function optionalNumber(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`${param} must be a number`, param);
  return value;
}

function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return stop === '' ? undefined : [stop];
  if (!Array.isArray(stop) || !stop.every((item): item is string => typeof item === 'string')) {
    throw invalidRequest('stop must be a string or an array of strings', 'stop');
  }
  const sequences = stop.filter((item) => item !== '');
  return sequences.length > 0 ? sequences : undefined;
}

interface Thinking {
  readonly thinking: Record<string, unknown> | undefined;
  readonly maxTokens: number;
}

function resolveThinking(body: Readonly<Record<string, unknown>>, clientMaxTokens: number | undefined): Thinking {
  const maxTokens = clientMaxTokens ?? DEFAULT_MAX_TOKENS;
  if (body.thinking !== undefined && body.thinking !== null) {
    if (!isRecord(body.thinking)) throw invalidRequest('thinking must be an object', 'thinking');
    const budget = body.thinking.type === 'enabled' ? body.thinking.budget_tokens : undefined;
    const raise = clientMaxTokens === undefined && typeof budget === 'number' && budget >= maxTokens;
    return { thinking: body.thinking, maxTokens: raise ? budget + DEFAULT_MAX_TOKENS : maxTokens };
  }
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null || effort === 'none') return { thinking: undefined, maxTokens };
  const wanted = typeof effort === 'string' ? REASONING_BUDGETS[effort] : undefined;
  if (wanted === undefined) {
    throw invalidRequest(`reasoning_effort must be one of none, ${Object.keys(REASONING_BUDGETS).join(', ')}`, 'reasoning_effort');
  }
  if (clientMaxTokens === undefined) return { thinking: { type: 'enabled', budget_tokens: wanted }, maxTokens: wanted + DEFAULT_MAX_TOKENS };
  const budget = Math.min(wanted, clientMaxTokens - 1);
  if (budget < MIN_THINKING_BUDGET) {
    throw invalidRequest(`reasoning_effort needs max_completion_tokens above ${MIN_THINKING_BUDGET} on Anthropic models`, 'reasoning_effort');
  }
  return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens: clientMaxTokens };
}

function outputFormat(responseFormat: unknown, system: AnthropicBlock[], warnings: Warning[]): Record<string, unknown> | undefined {
  if (responseFormat === undefined || responseFormat === null) return undefined;
  if (!isRecord(responseFormat)) throw invalidRequest('response_format must be an object', 'response_format');
  switch (responseFormat.type) {
    case 'text':
      return undefined;
    case 'json_schema': {
      const jsonSchema = isRecord(responseFormat.json_schema) ? responseFormat.json_schema : undefined;
      if (!jsonSchema || !isRecord(jsonSchema.schema)) throw invalidRequest('response_format.json_schema.schema is required', 'response_format');
      return { type: 'json_schema', schema: jsonSchema.schema };
    }
    case 'json_object':
      system.push({ type: 'text', text: JSON_OBJECT_INSTRUCTION });
      warnings.push({ kind: 'emulated_parameter', detail: 'response_format json_object is requested through a system instruction' });
      return undefined;
    default:
      throw invalidRequest(`response_format.type "${String(responseFormat.type)}" is not supported`, 'response_format');
  }
}

/** Builds the Messages body. Throws GatewayError ERR_INVALID_REQUEST (422) for input Anthropic cannot take. */
export function buildAnthropicMessagesBody(ctx: RequestContext, options: BuildOptions): Record<string, unknown> {
  const body = ctx.body;
  const warnings: Warning[] = options.warnings ?? [];
  const schema = ctx.backend.schema;
  const converted = convertMessages(body.messages, { allowUrlSources: schema === 'Anthropic', schema }, warnings);
  const system = converted.system;

  const n = optionalNumber(body.n, 'n');
  if (n !== undefined && n !== 1) throw invalidRequest('n must be 1 for Anthropic models', 'n');
  const clientMaxTokens = positiveInteger(body.max_completion_tokens, 'max_completion_tokens') ?? positiveInteger(body.max_tokens, 'max_tokens');
  const { thinking, maxTokens } = resolveThinking(body, clientMaxTokens);

  let temperature = optionalNumber(body.temperature, 'temperature');
  if (temperature !== undefined && (temperature < 0 || temperature > 1)) {
    throw invalidRequest('temperature must be between 0 and 1 for Anthropic models', 'temperature');
  }
  let topP = optionalNumber(body.top_p, 'top_p');
  let topK = positiveInteger(body.top_k, 'top_k');
  if (temperature !== undefined && topP !== undefined) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'top_p was not sent: Claude does not accept temperature and top_p together' });
    topP = undefined;
  }
  if (thinking !== undefined && thinking.type !== 'disabled') {
    if (temperature !== undefined && temperature !== 1) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'temperature was not sent: Claude does not accept it with thinking' });
      temperature = undefined;
    }
    if (topK !== undefined) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'top_k was not sent: Claude does not accept it with thinking' });
      topK = undefined;
    }
  }
  for (const name of UNSUPPORTED_PARAMETERS) {
    if (body[name] !== undefined && body[name] !== null && body[name] !== false) {
      warnings.push({ kind: 'unsupported_parameter', detail: `${name} is not supported by Anthropic and was ignored` });
    }
  }

  const tools = convertTools(body.tools, schema);
  const toolChoice = convertToolChoice(body.tool_choice, body.parallel_tool_calls, tools !== undefined);
  const format = outputFormat(body.response_format, system, warnings);
  let outputConfig: Record<string, unknown> | undefined;
  if (body.output_config !== undefined && body.output_config !== null) {
    if (!isRecord(body.output_config)) throw invalidRequest('output_config must be an object', 'output_config');
    outputConfig = { ...body.output_config };
  }
  if (format !== undefined) outputConfig = { ...outputConfig, format };
  const stop = stopSequences(body.stop);
  const user = asString(body.user);

  const out: Record<string, unknown> = {};
  if (options.anthropicVersion !== undefined) out.anthropic_version = options.anthropicVersion;
  if (options.includeModel) out.model = ctx.upstreamModel;
  out.max_tokens = maxTokens;
  if (system.length > 0) out.system = system;
  out.messages = converted.messages;
  if (tools !== undefined) out.tools = tools;
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  if (stop !== undefined) out.stop_sequences = stop;
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.top_p = topP;
  if (topK !== undefined) out.top_k = topK;
  if (thinking !== undefined) out.thinking = thinking;
  if (outputConfig !== undefined) out.output_config = outputConfig;
  if (user !== undefined && user !== '') out.metadata = { user_id: user };
  if (options.includeStream && ctx.stream) out.stream = true;
  return out;
}
