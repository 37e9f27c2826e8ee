/**
 * Usage from native Anthropic Messages responses and streams (first-party, Vertex rawPredict, Bedrock InvokeModel).
 *
 * A stream reports usage twice: `message_start` carries the input side (input, cache read, cache creation) and
 * usually a small placeholder output count; `message_delta` carries the cumulative output (and, on newer API
 * versions and some compatible servers, the input counts too). Every count is cumulative, so fields are merged
 * by taking the larger value: nothing is counted twice, a later zero never erases a count, and a backend that
 * reports input only in `message_delta` is still counted.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming#event-types
 */
import { asString, isRecord } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import { hasCounts, readAnthropicUsage, toTokenUsage, usageOfCounts, type AnthropicUsageCounts } from '../anthropic/convert-usage.js';

function larger(left: number | undefined, right: number | undefined): number | undefined {
  if (left === undefined) return right;
  if (right === undefined) return left;
  return Math.max(left, right);
}

/** Field-wise maximum of two cumulative usage reports. */
export function mergeCumulativeUsage(base: AnthropicUsageCounts, update: AnthropicUsageCounts): AnthropicUsageCounts {
  const merged: { input?: number; output?: number; cacheRead?: number; cacheCreation?: number } = {};
  const input = larger(base.input, update.input);
  const output = larger(base.output, update.output);
  const cacheRead = larger(base.cacheRead, update.cacheRead);
  const cacheCreation = larger(base.cacheCreation, update.cacheCreation);
  if (input !== undefined) merged.input = input;
  if (output !== undefined) merged.output = output;
  if (cacheRead !== undefined) merged.cacheRead = cacheRead;
  if (cacheCreation !== undefined) merged.cacheCreation = cacheCreation;
  return merged;
}

/** Usage and model of a complete Messages response (`{type: "message", model, usage, ...}`). */
export function readMessageUsage(message: unknown): { usage: TokenUsage | undefined; model: string | undefined } {
  if (!isRecord(message)) return { usage: undefined, model: undefined };
  const counts = readAnthropicUsage(message.usage);
  return { usage: hasCounts(counts) ? toTokenUsage(counts) : undefined, model: asString(message.model) };
}

/** Text the client receives in a stream event (text, thinking, tool input), for local counting. */
export function deliveredTextOf(event: Readonly<Record<string, unknown>>): string {
  if (event.type !== 'content_block_delta' || !isRecord(event.delta)) return '';
  const delta = event.delta;
  return asString(delta.text) ?? asString(delta.thinking) ?? asString(delta.partial_json) ?? '';
}

/** Follows the usage and model of one Anthropic event stream. */
export class AnthropicUsageTracker {
  private counts: AnthropicUsageCounts = {};
  private readonly usageOf = usageOfCounts();
  private modelName: string | undefined;

  /** Reads one parsed event (any type; only message_start and message_delta carry usage). */
  observe(event: Readonly<Record<string, unknown>>): void {
    if (event.type === 'message_start' && isRecord(event.message)) {
      this.modelName ??= asString(event.message.model);
      this.counts = mergeCumulativeUsage(this.counts, readAnthropicUsage(event.message.usage));
    } else if (event.type === 'message_delta') {
      this.counts = mergeCumulativeUsage(this.counts, readAnthropicUsage(event.usage));
    }
  }

  get usage(): TokenUsage | undefined {
    return this.usageOf(this.counts);
  }

  get model(): string | undefined {
    return this.modelName;
  }
}
