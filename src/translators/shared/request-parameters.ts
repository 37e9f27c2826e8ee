/**
 * OpenAI chat request parameters read the same way by the translators that rebuild the body for another API
 * (Anthropic, Bedrock Converse): typed reads that answer bad input with a 422, and the warning for parameters the
 * backend has no equivalent for.
 */
import { isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';
import { invalidRequest } from './content-parts.js';

/** OpenAI parameters neither Claude nor Converse can carry: ignored with an `unsupported_parameter` warning. */
export const UNSUPPORTED_PARAMETERS = [
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

export const JSON_OBJECT_INSTRUCTION = 'Respond only with a single valid JSON object, without any surrounding text or code fences.';

export function positiveInteger(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidRequest(`${param} must be a positive integer`, param);
  return value;
}

export function optionalNumber(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`${param} must be a number`, param);
  return value;
}

/** `stop` (a string or an array of strings) without empty entries; undefined when nothing is left. */
export function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return stop === '' ? undefined : [stop];
  if (!Array.isArray(stop) || !stop.every((item): item is string => typeof item === 'string')) {
    throw invalidRequest('stop must be a string or an array of strings', 'stop');
  }
  const sequences = stop.filter((item) => item !== '');
  return sequences.length > 0 ? sequences : undefined;
}

/** `max_completion_tokens`, else the legacy `max_tokens`. */
export function clientMaxTokens(body: Readonly<Record<string, unknown>>): number | undefined {
  return positiveInteger(body.max_completion_tokens, 'max_completion_tokens') ?? positiveInteger(body.max_tokens, 'max_tokens');
}

/** These backends return one choice: `n` other than 1 is a 422 ("n must be 1 for <models>"). */
export function requireSingleChoice(body: Readonly<Record<string, unknown>>, models: string): void {
  const n = optionalNumber(body.n, 'n');
  if (n !== undefined && n !== 1) throw invalidRequest(`n must be 1 for ${models}`, 'n');
}

/** One `unsupported_parameter` warning per UNSUPPORTED_PARAMETERS entry the client set ("... is not supported by <backend>"). */
export function warnUnsupportedParameters(body: Readonly<Record<string, unknown>>, backend: string, warnings: Warning[]): void {
  for (const name of UNSUPPORTED_PARAMETERS) {
    if (body[name] !== undefined && body[name] !== null && body[name] !== false) {
      warnings.push({ kind: 'unsupported_parameter', detail: `${name} is not supported by ${backend} and was ignored` });
    }
  }
}

export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_schema'; readonly jsonSchema: Record<string, unknown>; readonly schema: Record<string, unknown> }
  | { readonly type: 'json_object' };

/**
 * `response_format`, checked (undefined when absent). json_object has no native equivalent on these backends: it
 * is asked for with JSON_OBJECT_INSTRUCTION, and an `emulated_parameter` warning records that here.
 */
export function readResponseFormat(responseFormat: unknown, warnings: Warning[]): ResponseFormat | undefined {
  if (responseFormat === undefined || responseFormat === null) return undefined;
  if (!isRecord(responseFormat)) throw invalidRequest('response_format must be an object', 'response_format');
  switch (responseFormat.type) {
    case 'text':
      return { type: 'text' };
    case 'json_schema': {
      const jsonSchema = isRecord(responseFormat.json_schema) ? responseFormat.json_schema : undefined;
      if (!jsonSchema || !isRecord(jsonSchema.schema)) throw invalidRequest('response_format.json_schema.schema is required', 'response_format');
      return { type: 'json_schema', jsonSchema, schema: jsonSchema.schema };
    }
    case 'json_object':
      warnings.push({ kind: 'emulated_parameter', detail: 'response_format json_object is requested through a system instruction' });
      return { type: 'json_object' };
    default:
      throw invalidRequest(`response_format.type "${String(responseFormat.type)}" is not supported`, 'response_format');
  }
}
