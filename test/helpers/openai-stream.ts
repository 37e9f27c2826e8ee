/** Reads a chat completion stream from the official `openai` client as an application would. */
import type OpenAI from 'openai';

export interface StreamedToolCall {
  /** The first id sent for this index. */
  id: string | undefined;
  /** How many deltas carried an id (a well-formed stream sends it once). */
  ids: number;
  name: string;
  args: string;
}

export interface CollectedStream {
  text: string;
  reasoning: string;
  finish: string | null | undefined;
  usage: OpenAI.CompletionUsage | undefined;
  /** By tool call index, in the order indexes first appeared. */
  toolCalls: Map<number, StreamedToolCall>;
  /** Chunks that carried a `usage` object. */
  usageChunks: number;
}

export function emptyCollection(): CollectedStream {
  return { text: '', reasoning: '', finish: undefined, usage: undefined, toolCalls: new Map(), usageChunks: 0 };
}

/**
 * Collects content, reasoning_content, the last finish_reason, usage and tool call deltas. `into` is filled as the
 * chunks arrive, so what came before a stream error stays readable when the returned promise rejects.
 */
export async function collectChatStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>, into: CollectedStream = emptyCollection()): Promise<CollectedStream> {
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    const delta = choice?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string }) | undefined;
    into.text += delta?.content ?? '';
    into.reasoning += delta?.reasoning_content ?? '';
    into.finish = choice?.finish_reason ?? into.finish;
    if (chunk.usage) {
      into.usage = chunk.usage;
      into.usageChunks += 1;
    }
    for (const call of delta?.tool_calls ?? []) {
      const entry = into.toolCalls.get(call.index) ?? { id: undefined, ids: 0, name: '', args: '' };
      if (call.id) entry.ids += 1;
      entry.id ??= call.id;
      entry.name += call.function?.name ?? '';
      entry.args += call.function?.arguments ?? '';
      into.toolCalls.set(call.index, entry);
    }
  }
  return into;
}
