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
 *   as in the Anthropic translator: with both, only temperature is sent; while thinking, a temperature other
 *   than 1 is dropped (warnings say so).
 * - reasoning: a vendor `thinking` object is passed in `additionalModelRequestFields.thinking` as is (an
 *   enabled budget below 1024 is a 422); `reasoning_effort` maps by model family: Claude -> `thinking
 *   {type: enabled, budget_tokens}` (REASONING_BUDGETS, same values as the Anthropic translator, kept below
 *   maxTokens), Amazon Nova 2 -> `reasoningConfig`, OpenAI gpt-oss -> `reasoning_effort`; other models get an
 *   `unsupported_parameter` warning.
 * - `response_format` json_schema -> native structured output `outputConfig.textFormat` (type json_schema,
 *   the schema as a JSON string, key order kept). json_object has no native equivalent: a system instruction
 *   asks for a JSON object and an `emulated_parameter` warning records it.
 * - `n` > 1 is a 422; penalties, seed, logprobs... add an `unsupported_parameter` warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputConfig.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html
 */
import { isRecord } from '../../core/json.js';
import type { RequestContext, Warning } from '../types.js';
import { convertMessages } from './convert-messages.js';
import { convertToolConfig } from './convert-tools.js';
import { invalidRequest } from './converse-types.js';

/** maxTokens sent with Claude thinking when the client set none: the budget plus this. */
export const DEFAULT_MAX_TOKENS = 4096;
export const MIN_THINKING_BUDGET = 1024;
/** reasoning_effort -> Claude thinking.budget_tokens ("none" disables thinking). */
export const REASONING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 1024, medium: 4096, high: 16384, xhigh: 32768 };
export const JSON_OBJECT_INSTRUCTION = 'Respond only with a single valid JSON object, without any surrounding text or code fences.';

const UNSUPPORTED_PARAMETERS = ['frequency_penalty', 'presence_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'seed', 'modalities', 'audio', 'prediction', 'web_search_options'] as const;

export function conversePath(model: string, stream: boolean): string {
  return `/model/${encodeURIComponent(model)}/${stream ? 'converse-stream' : 'converse'}`;
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
  if (typeof effort !== 'string' || REASONING_BUDGETS[effort] === undefined) {
    throw invalidRequest(`reasoning_effort must be one of none, ${Object.keys(REASONING_BUDGETS).join(', ')}`, 'reasoning_effort');
  }
  const family = modelFamily(model);
  const level = effort === 'minimal' ? 'low' : effort === 'xhigh' ? 'high' : effort;
  switch (family) {
    case 'claude': {
      const wanted = REASONING_BUDGETS[effort] as number;
      if (clientMax === undefined) return { fields: { thinking: { type: 'enabled', budget_tokens: wanted } }, maxTokens: wanted + DEFAULT_MAX_TOKENS };
      const budget = Math.min(wanted, clientMax - 1);
      if (budget < MIN_THINKING_BUDGET) {
        throw invalidRequest(`reasoning_effort needs max_completion_tokens above ${MIN_THINKING_BUDGET} on Claude models`, 'reasoning_effort');
      }
      return { fields: { thinking: { type: 'enabled', budget_tokens: budget } }, maxTokens: clientMax };
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
  if (responseFormat === undefined || responseFormat === null) return {};
  if (!isRecord(responseFormat)) throw invalidRequest('response_format must be an object', 'response_format');
  switch (responseFormat.type) {
    case 'text':
      return {};
    case 'json_schema': {
      const jsonSchema = isRecord(responseFormat.json_schema) ? responseFormat.json_schema : undefined;
      if (!jsonSchema || !isRecord(jsonSchema.schema)) throw invalidRequest('response_format.json_schema.schema is required', 'response_format');
      const definition: Record<string, unknown> = { schema: JSON.stringify(jsonSchema.schema) };
      if (typeof jsonSchema.name === 'string' && jsonSchema.name !== '') definition.name = jsonSchema.name;
      if (typeof jsonSchema.description === 'string' && jsonSchema.description !== '') definition.description = jsonSchema.description;
      return { config: { textFormat: { type: 'json_schema', structure: { jsonSchema: definition } } } };
    }
    case 'json_object':
      warnings.push({ kind: 'emulated_parameter', detail: 'response_format json_object is requested through a system instruction' });
      return { instruction: JSON_OBJECT_INSTRUCTION };
    default:
      throw invalidRequest(`response_format.type "${String(responseFormat.type)}" is not supported`, 'response_format');
  }
}

/** Builds the Converse body. Throws GatewayError ERR_INVALID_REQUEST (422) for input Bedrock cannot take. */
export function buildConverseBody(ctx: RequestContext, warnings: Warning[]): Record<string, unknown> {
  const body = ctx.body;
  const converted = convertMessages(body.messages, warnings);
  const n = optionalNumber(body.n, 'n');
  if (n !== undefined && n !== 1) throw invalidRequest('n must be 1 for Bedrock models', 'n');
  const clientMax = positiveInteger(body.max_completion_tokens, 'max_completion_tokens') ?? positiveInteger(body.max_tokens, 'max_tokens');
  const reasoning = resolveReasoning(body, ctx.upstreamModel, clientMax, warnings);
  let temperature = optionalNumber(body.temperature, 'temperature');
  let topP = optionalNumber(body.top_p, 'top_p');
  if (modelFamily(ctx.upstreamModel) === 'claude') {
    // Claude rejects temperature with top_p (newer models), and any temperature but 1 while thinking.
    if (temperature !== undefined && topP !== undefined) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'top_p was not sent: Claude does not accept temperature and top_p together' });
      topP = undefined;
    }
    const thinking = reasoning.fields.thinking;
    if (isRecord(thinking) && thinking.type !== 'disabled' && temperature !== undefined && temperature !== 1) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'temperature was not sent: Claude does not accept it with thinking' });
      temperature = undefined;
    }
  }
  const stop = stopSequences(body.stop);
  for (const name of UNSUPPORTED_PARAMETERS) {
    if (body[name] !== undefined && body[name] !== null && body[name] !== false) {
      warnings.push({ kind: 'unsupported_parameter', detail: `${name} is not supported by Bedrock Converse and was ignored` });
    }
  }
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
  if (Object.keys(reasoning.fields).length > 0) out.additionalModelRequestFields = reasoning.fields;
  return out;
}
