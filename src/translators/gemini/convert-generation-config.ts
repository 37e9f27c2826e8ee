/**
 * OpenAI sampling, output and reasoning settings -> Gemini `generationConfig`.
 *
 * - `max_completion_tokens` wins over `max_tokens` -> maxOutputTokens (no default: Gemini has its own);
 * - `stop` (string or array) -> stopSequences; temperature, top_p, seed, n (candidateCount), presence/frequency
 *   penalties; `top_k` is accepted as a vendor field;
 * - `response_format`: json_object -> responseMimeType application/json; json_schema -> the same plus
 *   responseJsonSchema (references inlined, see convert-schema.ts), or responseSchema in the OpenAPI subset for
 *   the models that predate responseJsonSchema (schema-dialect.ts);
 * - `reasoning_effort` -> thinkingConfig with includeThoughts true (false for "none"): legacy models get a
 *   thinkingBudget ({@link THINKING_BUDGETS}), current models a thinkingLevel ({@link THINKING_LEVELS});
 * - the `thinking` vendor field is applied after reasoning_effort and wins: `{type:"enabled", budget_tokens}`,
 *   `{type:"disabled"}`, `{type:"adaptive"}` or Gemini's own `{thinkingBudget, thinkingLevel, includeThoughts}`.
 * - `logprobs` / `top_logprobs` -> responseLogprobs / logprobs (convert-logprobs.ts).
 * logit_bias has no Gemini chat equivalent: an `unsupported_parameter` warning.
 *
 * @see https://ai.google.dev/api/generate-content#generationconfig
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
import { asArray, asString, isRecord } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { Warning } from '../types.js';
import { convertLogprobsRequest } from './convert-logprobs.js';
import { convertOpenApiSchema, convertSchema } from './convert-schema.js';
import type { GeminiSchemaDialect } from './schema-dialect.js';
import type { JsonObject } from './gemini-types.js';
import type { GeminiGeneration } from './model-generation.js';

/** reasoning_effort -> thinkingBudget for Gemini 1.x/2.x (2.5 Flash caps at 24576; 0 turns thinking off). */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 24576,
};

/** reasoning_effort -> thinkingLevel for Gemini 3 and later ("none" is the lowest level: it cannot be turned off). */
export const THINKING_LEVELS: Readonly<Record<string, string>> = {
  none: 'minimal',
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

export interface ConvertedGenerationConfig {
  readonly generationConfig: JsonObject;
  readonly warnings: Warning[];
}

function invalid(message: string, param: string): never {
  throw new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

function numberParam(body: Readonly<JsonObject>, key: string, integer = false): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    invalid(`"${key}" must be ${integer ? 'an integer' : 'a number'}`, key);
  }
  return value;
}

function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return [stop];
  const list = asArray(stop);
  if (!list || !list.every((entry) => typeof entry === 'string')) invalid('"stop" must be a string or an array of strings', 'stop');
  return list.length > 0 ? (list as string[]) : undefined;
}

function responseFormat(format: unknown, config: JsonObject, warnings: Warning[], dialect: GeminiSchemaDialect): void {
  if (format === undefined || format === null) return;
  if (!isRecord(format)) invalid('"response_format" must be an object', 'response_format');
  if (format.type === 'text') return;
  if (format.type === 'json_object') {
    config.responseMimeType = 'application/json';
    return;
  }
  if (format.type === 'json_schema') {
    const spec = isRecord(format.json_schema) ? format.json_schema : undefined;
    if (!spec || spec.schema === undefined) invalid('response_format.json_schema.schema is required', 'response_format');
    const where = 'response_format.json_schema.schema';
    const converted = dialect === 'openapi' ? convertOpenApiSchema(spec.schema, where, true) : convertSchema(spec.schema, where);
    warnings.push(...converted.warnings);
    config.responseMimeType = 'application/json';
    if (dialect === 'openapi') config.responseSchema = converted.schema;
    else config.responseJsonSchema = converted.schema;
    return;
  }
  invalid(`response_format type "${String(format.type)}" is not supported`, 'response_format');
}

function thinkingFromEffort(effort: unknown, generation: GeminiGeneration): JsonObject | undefined {
  if (effort === undefined || effort === null) return undefined;
  const key = asString(effort);
  if (!key || !Object.hasOwn(THINKING_BUDGETS, key)) {
    invalid(`reasoning_effort must be one of ${Object.keys(THINKING_BUDGETS).join(', ')}`, 'reasoning_effort');
  }
  const includeThoughts = key !== 'none';
  return generation === 'legacy'
    ? { thinkingBudget: THINKING_BUDGETS[key], includeThoughts }
    : { thinkingLevel: THINKING_LEVELS[key], includeThoughts };
}

/** The `thinking` vendor field -> thinkingConfig. */
function thinkingFromVendor(thinking: unknown): JsonObject | undefined {
  if (thinking === undefined || thinking === null) return undefined;
  if (!isRecord(thinking)) invalid('"thinking" must be an object', 'thinking');
  if (thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget)) invalid('thinking.budget_tokens must be an integer', 'thinking');
    return { thinkingBudget: budget, includeThoughts: true };
  }
  if (thinking.type === 'disabled') return { thinkingBudget: 0, includeThoughts: false };
  if (thinking.type === 'adaptive') return { thinkingBudget: -1, includeThoughts: true };
  const native: JsonObject = {};
  if (typeof thinking.thinkingBudget === 'number') native.thinkingBudget = thinking.thinkingBudget;
  if (typeof thinking.thinkingLevel === 'string') native.thinkingLevel = thinking.thinkingLevel;
  if (typeof thinking.includeThoughts === 'boolean') native.includeThoughts = thinking.includeThoughts;
  if (Object.keys(native).length === 0) {
    invalid('thinking must be {type: enabled|disabled|adaptive} or {thinkingBudget|thinkingLevel|includeThoughts}', 'thinking');
  }
  return native;
}

export function convertGenerationConfig(body: Readonly<JsonObject>, generation: GeminiGeneration, dialect: GeminiSchemaDialect = 'json-schema'): ConvertedGenerationConfig {
  const warnings: Warning[] = [];
  const config: JsonObject = {};
  const stop = stopSequences(body.stop);
  if (stop) config.stopSequences = stop;
  const maxTokens = numberParam(body, 'max_completion_tokens', true) ?? numberParam(body, 'max_tokens', true);
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  const numbers: ReadonlyArray<readonly [string, string, boolean]> = [
    ['temperature', 'temperature', false],
    ['top_p', 'topP', false],
    ['top_k', 'topK', true],
    ['seed', 'seed', true],
    ['n', 'candidateCount', true],
    ['presence_penalty', 'presencePenalty', false],
    ['frequency_penalty', 'frequencyPenalty', false],
  ];
  for (const [from, to, integer] of numbers) {
    const value = numberParam(body, from, integer);
    if (value !== undefined) config[to] = value;
  }
  responseFormat(body.response_format, config, warnings, dialect);
  const thinking = thinkingFromVendor(body.thinking) ?? thinkingFromEffort(body.reasoning_effort, generation);
  if (thinking) config.thinkingConfig = thinking;
  convertLogprobsRequest(body, config, warnings);
  if (body.service_tier !== undefined && body.service_tier !== null && body.service_tier !== 'auto') {
    warnings.push({ kind: 'unsupported_parameter', detail: 'service_tier has no Gemini generateContent equivalent and was ignored' });
  }
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null) warnings.push({ kind: 'unsupported_parameter', detail: 'logit_bias is not supported by Gemini chat translation' });
  return { generationConfig: config, warnings };
}
