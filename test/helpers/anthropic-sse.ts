/** Client-side helpers for Anthropic Messages streams: parse SSE events and assemble blocks as an SDK would. */
type Json = Record<string, unknown>;

export interface SseEvent {
  event: string;
  data: Json;
}

export function parseAnthropicSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => ({ event: /^event: (.*)$/m.exec(block)?.[1] ?? '', data: JSON.parse(/^data: ?(.*)$/m.exec(block)?.[1] ?? '{}') as Json }));
}

/** Text, thinking (with signatures) and tool inputs assembled from a Messages stream, as an SDK would. */
export function assembleAnthropicStream(events: SseEvent[]): { blocks: Json[]; stopReason: unknown; usage: Json | undefined } {
  const blocks: Json[] = [];
  const json: string[] = [];
  let stopReason: unknown;
  let usage: Json | undefined;
  for (const { event, data } of events) {
    if (event === 'content_block_start') blocks[data.index as number] = { ...(data.content_block as Json) };
    if (event === 'content_block_delta') {
      const block = blocks[data.index as number] as Json;
      const delta = data.delta as Json;
      if (delta.type === 'text_delta') block.text = String(block.text) + String(delta.text);
      if (delta.type === 'thinking_delta') block.thinking = String(block.thinking ?? '') + String(delta.thinking);
      if (delta.type === 'signature_delta') block.signature = String(block.signature ?? '') + String(delta.signature);
      if (delta.type === 'input_json_delta') json[data.index as number] = (json[data.index as number] ?? '') + String(delta.partial_json);
    }
    if (event === 'content_block_stop' && json[data.index as number] !== undefined) {
      (blocks[data.index as number] as Json).input = JSON.parse(json[data.index as number] as string) as unknown;
    }
    if (event === 'message_delta') {
      stopReason = (data.delta as Json).stop_reason;
      usage = data.usage as Json;
    }
  }
  return { blocks, stopReason, usage };
}
