/**
 * An OpenAI chat completion request -> a Bedrock Converse / ConverseStream request.
 *
 * Path: `/model/{encodeURIComponent(model)}/converse` (or `/converse-stream`): model IDs and ARNs contain ':'
 * and '/', which are escaped in the one path segment (SigV4 then double-encodes the canonical path).
 *
 * Parameters:
 * - `max_completion_tokens`, else `max_tokens` -> `inferenceConfig.maxTokens` (Converse has a per-model
 *   default, so none is invented, except with Claude thinking: budget + DEFAULT_MAX_TOKENS).
 * - `temperature` -> `temperature`, `top_p` -> `topP`, `stop` (string or array) -> `stopSequences`. For Claude,
 *   as in the Anthropic translator: with both, only temperature is sent to the models that refuse the pair
 *   (claude-thinking.ts, dropsTopPWithTemperature); while thinking, a temperature other than 1 is dropped
 *   (warnings say so).
 * - reasoning: a vendor `thinking` object is passed in `additionalModelRequestFields.thinking` as is (an
 *   enabled budget below 1024 is a 422); `reasoning_effort` maps by model family: Claude -> `thinking
 *   {type: enabled, budget_tokens}` (REASONING_BUDGETS, same values as the Anthropic translator, kept below
 *   maxTokens), Amazon Nova 2 -> `reasoningConfig`, OpenAI gpt-oss -> `reasoning_effort`; other models get an
 *   `unsupported_parameter` warning.
 * - `response_format` json_schema -> native structured output `outputConfig.textFormat` (type json_schema,
 *   the schema as a JSON string, key order kept). json_object has no native equivalent: a system instruction
 *   asks for a JSON object and an `emulated_parameter` warning records it.
 * - `service_tier` -> `serviceTier` (service-tier.ts).
 * - the vendor field `anthropic_beta` (Claude beta flags, e.g. interleaved thinking) ->
 *   `additionalModelRequestFields.anthropic_beta` for Claude models; other models get a warning.
 * - `n` > 1 is a 422; penalties, seed, logprobs... add an `unsupported_parameter` warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputConfig.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html
 */
import { claudeSampling, DEFAULT_MAX_TOKENS, dropsTopPWithTemperature, MIN_THINKING_BUDGET, reasoningBudget, thinkingForBudget } from '../shared/claude-thinking.js';
import {
  clientMaxTokens,
  JSON_OBJECT_INSTRUCTION,
  optionalNumber,
  readResponseFormat,
  requireSingleChoice,
  stopSequences,
  warnUnsupportedParameters,
} from '../shared/request-parameters.js';
import { encodeJson, isRecord } from '../../core/json.js';
import type { RequestContext, UpstreamRequest, Warning } from '../types.js';
import { convertMessages } from './convert-messages.js';
import { convertToolConfig } from './convert-tools.js';
import { invalidRequest } from './converse-types.js';
import { converseServiceTier } from './service-tier.js';

export { DEFAULT_MAX_TOKENS, MIN_THINKING_BUDGET, REASONING_BUDGETS } from '../shared/claude-thinking.js';
export { JSON_OBJECT_INSTRUCTION } from '../shared/request-parameters.js';

/** Headers of a JSON request to bedrock-runtime: a stream is answered as an AWS event stream. */
export function bedrockRequestHeaders(stream: boolean): Record<string, string> {
  return { 'content-type': 'application/json', accept: stream ? 'application/vnd.amazon.eventstream' : 'application/json' };
}

/** A JSON request to bedrock-runtime (SigV4 signs it afterwards). */
export function bedrockUpstreamRequest(path: string, body: Record<string, unknown>, stream: boolean, warnings: readonly Warning[]): UpstreamRequest {
  return {
    path,
    body: encodeJson(body),
    setHeaders: bedrockRequestHeaders(stream),
    removeHeaders: [],
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export function conversePath(model: string, stream: boolean): string {
  return `/model/${encodeURIComponent(model)}/${stream ? 'converse-stream' : 'converse'}`;
}

type ModelFamily = 'claude' | 'nova2' | 'gpt-oss' | 'other';

function modelFamily(model: string): ModelFamily {
  const id = model.toLowerCase();
  if (id.includes('anthropic') || id.includes('claude')) return 'claude';
  if (id.includes('nova-2')) return 'nova2';
  if (id.includes('gpt-oss')) return 'gpt-oss';
  return 'other';
}

interface Reasoning {
  readonly fields: Record<string, unknown>;
  readonly maxTokens: number | undefined;
}

function resolveReasoning(body: Readonly<Record<string, unknown>>, model: string, clientMax: number | undefined, warnings: Warning[]): Reasoning {
  if (body.thinking !== undefined && body.thinking !== null) {
    const thinking = body.thinking;
    if (!isRecord(thinking)) throw invalidRequest('thinking must be an object', 'thinking');
    const budget = thinking.type === 'enabled' ? thinking.budget_tokens : undefined;
    if (thinking.type === 'enabled' && (typeof budget !== 'number' || !Number.isInteger(budget) || budget < MIN_THINKING_BUDGET)) {
      throw invalidRequest(`thinking.budget_tokens must be an integer >= ${MIN_THINKING_BUDGET}`, 'thinking.budget_tokens');
    }
    const raise = clientMax === undefined && typeof budget === 'number';
    return { fields: { thinking }, maxTokens: raise ? budget + DEFAULT_MAX_TOKENS : clientMax };
  }
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null || effort === 'none') return { fields: {}, maxTokens: clientMax };
  const wanted = reasoningBudget(effort);
  const family = modelFamily(model);
  const level = effort === 'minimal' ? 'low' : effort === 'xhigh' ? 'high' : effort;
  switch (family) {
    case 'claude': {
      const { thinking, maxTokens } = thinkingForBudget(wanted, clientMax, 'Claude models');
      return { fields: { thinking }, maxTokens };
    }
    case 'nova2':
      return { fields: { reasoningConfig: { type: 'enabled', maxReasoningEffort: level } }, maxTokens: clientMax };
    case 'gpt-oss':
      return { fields: { reasoning_effort: level }, maxTokens: clientMax };
    default:
      warnings.push({ kind: 'unsupported_parameter', detail: `reasoning_effort is not mapped for Bedrock model ${model} and was ignored` });
      return { fields: {}, maxTokens: clientMax };
  }
}

function outputConfig(responseFormat: unknown, warnings: Warning[]): { config?: Record<string, unknown>; instruction?: string } {
  const format = readResponseFormat(responseFormat, warnings);
  if (format?.type === 'json_object') return { instruction: JSON_OBJECT_INSTRUCTION };
  if (format?.type !== 'json_schema') return {};
  const { jsonSchema } = format;
  const definition: Record<string, unknown> = { schema: JSON.stringify(format.schema) };
  if (typeof jsonSchema.name === 'string' && jsonSchema.name !== '') definition.name = jsonSchema.name;
  if (typeof jsonSchema.description === 'string' && jsonSchema.description !== '') definition.description = jsonSchema.description;
  return { config: { textFormat: { type: 'json_schema', structure: { jsonSchema: definition } } } };
}

/** The `anthropic_beta` vendor field (Claude only: Converse passes it to Claude in additionalModelRequestFields). */
function anthropicBetas(value: unknown, claude: boolean, warnings: Warning[]): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((flag): flag is string => typeof flag === 'string')) throw invalidRequest('anthropic_beta must be an array of strings', 'anthropic_beta');
  if (!claude) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'anthropic_beta applies to Claude models only and was ignored' });
    return undefined;
  }
  return value.length > 0 ? value : undefined;
}

/** Builds the Converse body. Throws GatewayError ERR_INVALID_REQUEST (422) for input Bedrock cannot take. */
export function buildConverseBody(ctx: RequestContext, warnings: Warning[]): Record<string, unknown> {
  const body = ctx.body;
  const converted = convertMessages(body.messages, warnings);
  requireSingleChoice(body, 'Bedrock models');
  const clientMax = clientMaxTokens(body);
  const reasoning = resolveReasoning(body, ctx.upstreamModel, clientMax, warnings);
  let temperature = optionalNumber(body.temperature, 'temperature');
  let topP = optionalNumber(body.top_p, 'top_p');
  const claude = modelFamily(ctx.upstreamModel) === 'claude';
  const override = ctx.modelOptions?.topPWithTemperature;
  // The config override also covers model ids that do not say they are Claude (inference-profile ARNs).
  const dropTopP = override !== undefined ? override === 'drop' : claude && dropsTopPWithTemperature(ctx.upstreamModel, undefined);
  const thinking = reasoning.fields.thinking;
  const thinkingOn = claude && isRecord(thinking) && thinking.type !== 'disabled';
  ({ temperature, topP } = claudeSampling({ temperature, topP }, thinkingOn, warnings, dropTopP));
  const stop = stopSequences(body.stop);
  warnUnsupportedParameters(body, 'Bedrock Converse', warnings);
  const toolConfig = convertToolConfig(body, converted.historyToolNames, warnings);
  const format = outputConfig(body.response_format, warnings);
  const system = format.instruction ? [...converted.system, { text: format.instruction }] : converted.system;

  const inferenceConfig: Record<string, unknown> = {};
  if (reasoning.maxTokens !== undefined) inferenceConfig.maxTokens = reasoning.maxTokens;
  if (temperature !== undefined) inferenceConfig.temperature = temperature;
  if (topP !== undefined) inferenceConfig.topP = topP;
  if (stop !== undefined) inferenceConfig.stopSequences = stop;

  const out: Record<string, unknown> = { messages: converted.messages };
  if (system.length > 0) out.system = system;
  if (Object.keys(inferenceConfig).length > 0) out.inferenceConfig = inferenceConfig;
  if (toolConfig !== undefined) out.toolConfig = toolConfig;
  if (format.config !== undefined) out.outputConfig = format.config;
  const betas = anthropicBetas(body.anthropic_beta, claude, warnings);
  const additional = betas === undefined ? reasoning.fields : { ...reasoning.fields, anthropic_beta: betas };
  if (Object.keys(additional).length > 0) out.additionalModelRequestFields = additional;
  const serviceTier = converseServiceTier(body.service_tier, warnings);
  if (serviceTier !== undefined) out.serviceTier = serviceTier;
  return out;
}
