/**
 * An OpenAI chat completion request -> an Anthropic Messages body (shared by Anthropic, GCPAnthropic and
 * AWSAnthropic; only the envelope differs: `model`, `stream`, `anthropic_version`).
 *
 * Parameters:
 * - max tokens: `max_completion_tokens`, else `max_tokens`, else DEFAULT_MAX_TOKENS (Anthropic requires one).
 * - `temperature` must be 0..1 (422 otherwise). With both `temperature` and `top_p`, both are sent, except to the
 *   models documented to refuse the pair (Claude 4.5 and later, see claude-thinking.ts): those get `temperature`
 *   only, and a warning. The model's `topPWithTemperature` config key overrides the rule. `top_k` is passed through.
 * - `stop` (string or array) -> `stop_sequences`; `user` -> `metadata.user_id`; `n` > 1 is a 422.
 * - reasoning: a vendor `thinking` object is passed through as is; otherwise `reasoning_effort` maps to
 *   `thinking: {type: enabled, budget_tokens}` with REASONING_BUDGETS (never below 1024, always below
 *   max_tokens). While thinking, `temperature` (other than 1) and `top_k` are dropped with a warning: Claude
 *   rejects them together with thinking. `reasoning_effort` is deliberately not sent as `output_config.effort`:
 *   only the newest models accept effort and the others answer 400; clients can send a vendor `output_config`.
 * - `response_format` json_schema -> native structured output `output_config.format` ({type: json_schema,
 *   schema}). json_object has no native equivalent: a system instruction asks for a JSON object, and a
 *   `emulated_parameter` warning records it. A vendor `output_config` object is merged in (e.g. `effort`).
 * - `service_tier`: auto -> auto, default -> standard_only (first-party only); anything else a warning.
 * - unsupported OpenAI parameters (penalties, seed, logprobs, ...) add an `unsupported_parameter` warning.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
import { asString, isRecord } from '../../core/json.js';
import { claudeSampling, DEFAULT_MAX_TOKENS, dropsTopPWithTemperature, reasoningBudget, thinkingForBudget } from '../shared/claude-thinking.js';
import {
  clientMaxTokens,
  JSON_OBJECT_INSTRUCTION,
  optionalNumber,
  positiveInteger,
  readResponseFormat,
  requireSingleChoice,
  stopSequences,
  warnUnsupportedParameters,
} from '../shared/request-parameters.js';
import type { RequestContext, Warning } from '../types.js';
import { invalidRequest, type AnthropicBlock } from './convert-content.js';
import { convertMessages } from './convert-messages.js';
import { convertToolChoice, convertTools } from './convert-tools.js';

export { DEFAULT_MAX_TOKENS, MIN_THINKING_BUDGET, REASONING_BUDGETS } from '../shared/claude-thinking.js';
export { JSON_OBJECT_INSTRUCTION } from '../shared/request-parameters.js';

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

interface Thinking {
  readonly thinking: Record<string, unknown> | undefined;
  readonly maxTokens: number;
}

function resolveThinking(body: Readonly<Record<string, unknown>>, clientMax: number | undefined): Thinking {
  const maxTokens = clientMax ?? DEFAULT_MAX_TOKENS;
  if (body.thinking !== undefined && body.thinking !== null) {
    if (!isRecord(body.thinking)) throw invalidRequest('thinking must be an object', 'thinking');
    const budget = body.thinking.type === 'enabled' ? body.thinking.budget_tokens : undefined;
    const raise = clientMax === undefined && typeof budget === 'number' && budget >= maxTokens;
    return { thinking: body.thinking, maxTokens: raise ? budget + DEFAULT_MAX_TOKENS : maxTokens };
  }
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null || effort === 'none') return { thinking: undefined, maxTokens };
  return thinkingForBudget(reasoningBudget(effort), clientMax, 'Anthropic models');
}

function outputFormat(responseFormat: unknown, system: AnthropicBlock[], warnings: Warning[]): Record<string, unknown> | undefined {
  const format = readResponseFormat(responseFormat, warnings);
  if (format?.type === 'json_schema') return { type: 'json_schema', schema: format.schema };
  if (format?.type === 'json_object') system.push({ type: 'text', text: JSON_OBJECT_INSTRUCTION });
  return undefined;
}

/**
 * OpenAI `service_tier` -> Anthropic `service_tier` (first-party API only; Vertex and Bedrock have no such field):
 * `auto` -> `auto` (priority capacity when the organisation has it), `default` -> `standard_only`. `priority`,
 * `flex` and `scale` have no Anthropic request value: ignored with a warning.
 * @see https://platform.claude.com/docs/en/api/service-tiers
 */
function anthropicServiceTier(value: unknown, schema: string, warnings: Warning[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  const mapped = value === 'auto' ? 'auto' : value === 'default' ? 'standard_only' : undefined;
  if (mapped !== undefined && schema === 'Anthropic') return mapped;
  warnings.push({ kind: 'unsupported_parameter', detail: `service_tier ${JSON.stringify(value).slice(0, 40)} has no equivalent on ${schema} and was ignored` });
  return undefined;
}

/** Builds the Messages body. Throws GatewayError ERR_INVALID_REQUEST (422) for input Anthropic cannot take. */
export function buildAnthropicMessagesBody(ctx: RequestContext, options: BuildOptions): Record<string, unknown> {
  const body = ctx.body;
  const warnings: Warning[] = options.warnings ?? [];
  const schema = ctx.backend.schema;
  const converted = convertMessages(body.messages, { allowUrlSources: schema === 'Anthropic', schema }, warnings);
  const system = converted.system;

  requireSingleChoice(body, 'Anthropic models');
  const { thinking, maxTokens } = resolveThinking(body, clientMaxTokens(body));

  const requestedTemperature = optionalNumber(body.temperature, 'temperature');
  if (requestedTemperature !== undefined && (requestedTemperature < 0 || requestedTemperature > 1)) {
    throw invalidRequest('temperature must be between 0 and 1 for Anthropic models', 'temperature');
  }
  const requested = { temperature: requestedTemperature, topP: optionalNumber(body.top_p, 'top_p'), topK: positiveInteger(body.top_k, 'top_k') };
  const dropTopP = dropsTopPWithTemperature(ctx.upstreamModel, ctx.modelOptions?.topPWithTemperature);
  const { temperature, topP, topK } = claudeSampling(requested, thinking !== undefined && thinking.type !== 'disabled', warnings, dropTopP);
  warnUnsupportedParameters(body, 'Anthropic', warnings);

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
  const serviceTier = anthropicServiceTier(body.service_tier, schema, warnings);
  if (serviceTier !== undefined) out.service_tier = serviceTier;
  if (options.includeStream && ctx.stream) out.stream = true;
  return out;
}
