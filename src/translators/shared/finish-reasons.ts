/**
 * The one rule for translating a provider's stop/finish reason, shared by the Anthropic, Bedrock and Anthropic
 * ingress translators. Each provider keeps its own table (the data legitimately differs); this is the machinery:
 * - a response that called a tool reports the tool reason, whatever the provider says;
 * - a known reason maps through the table;
 * - anything else becomes the fallback plus an `unknown_finish_reason` warning (counted by the processor).
 */
import type { Warning } from '../types.js';

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** A provider reason translated to OpenAI, as the OpenAI-client translators report it. */
export interface MappedFinishReason {
  readonly finishReason: OpenAIFinishReason;
  readonly warning?: Warning;
}

export interface ReasonMapping<R extends string> {
  /** Provider reason -> client reason. Looked up by own keys only. */
  readonly table: Readonly<Record<string, R>>;
  /** Reported whenever a tool was called. */
  readonly toolReason: R;
  /** Reported for an unknown reason. */
  readonly fallback: R;
  /** Names the field in the warning, e.g. "Anthropic stop_reason". */
  readonly source: string;
}

export interface MappedReason<R extends string> {
  readonly reason: R;
  readonly warning?: Warning;
}

export function mapReason<R extends string>(mapping: ReasonMapping<R>, raw: unknown, toolCalled: boolean): MappedReason<R> {
  if (toolCalled) return { reason: mapping.toolReason };
  const mapped = typeof raw === 'string' && Object.hasOwn(mapping.table, raw) ? mapping.table[raw] : undefined;
  if (mapped !== undefined) return { reason: mapped };
  return {
    reason: mapping.fallback,
    warning: { kind: 'unknown_finish_reason', detail: `${mapping.source} ${JSON.stringify(raw ?? null)} reported as "${mapping.fallback}"` },
  };
}

/** mapReason for the OpenAI client API: tool_calls when a tool was called, "stop" for an unknown reason. */
export function mapToOpenAIFinishReason(table: Readonly<Record<string, OpenAIFinishReason>>, source: string, raw: unknown, toolCalled: boolean): MappedFinishReason {
  const { reason, warning } = mapReason({ table, toolReason: 'tool_calls', fallback: 'stop', source }, raw, toolCalled);
  return warning ? { finishReason: reason, warning } : { finishReason: reason };
}
