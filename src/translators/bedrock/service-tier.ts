/**
 * OpenAI `service_tier` <-> Bedrock Converse `serviceTier` ({type: priority | default | flex | reserved}).
 *
 * Request: `priority`, `default`, `flex` and Bedrock's own `reserved` are sent as `serviceTier.type`; `auto` (the
 * OpenAI default: "use the project's setting") sends nothing, so Bedrock uses its default tier; anything else
 * (`scale`) has no Bedrock tier and is dropped with an `unsupported_parameter` warning.
 * Response: the tier Bedrock reports (`serviceTier.type` in the Converse response, and in the ConverseStream
 * `metadata` event) becomes `service_tier` on the completion, and on the final usage chunk of a stream.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ServiceTier.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/service-tiers-inference.html
 */
import { asString, isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';
import { invalidRequest } from './converse-types.js';

const TIERS = new Set(['priority', 'default', 'flex', 'reserved']);

/** `serviceTier` for the Converse body, or undefined. */
export function converseServiceTier(value: unknown, warnings: Warning[]): { type: string } | undefined {
  if (value === undefined || value === null || value === 'auto') return undefined;
  if (typeof value !== 'string') throw invalidRequest('service_tier must be a string', 'service_tier');
  if (TIERS.has(value)) return { type: value };
  warnings.push({ kind: 'unsupported_parameter', detail: `service_tier "${value.slice(0, 40)}" has no Bedrock tier and was ignored` });
  return undefined;
}

/** The tier a Converse response or stream metadata event reports. */
export function reportedServiceTier(value: unknown): string | undefined {
  return isRecord(value) ? asString(value.type) : undefined;
}
