/**
 * The mock OpenAI server's Responses API (`POST .../responses`), in its real wire format:
 * - `input` ends with a `function_call_output` -> text "Tool said: <output>";
 * - function tools offered -> one `function_call` to the first tool with `{"city":"Paris"}`;
 * - otherwise text `reply` (default "Hello from the mock upstream."), one delta per word.
 * Usage: 40 input tokens (16 cached), one output token per delta plus 5 reasoning tokens. Streams are
 * `event: <type>\ndata: <json>\n\n` with sequence numbers from 0, ending in `response.completed`, or in
 * `response.incomplete` / `response.failed` when the mock is told to (`terminal`).
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
type Json = Record<string, unknown>;

export type ResponsesTerminal = 'completed' | 'incomplete' | 'failed';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

interface Planned {
  readonly kind: 'text' | 'call';
  readonly pieces: string[];
  readonly name: string;
}

function plan(body: Json, reply: string): Planned {
  const input = Array.isArray(body.input) ? body.input.filter(isObject) : [];
  const last = input.at(-1);
  if (last?.type === 'function_call_output') return { kind: 'text', pieces: `Tool said: ${String(last.output)}`.split(/(?<= )/), name: '' };
  const tool = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).find((entry) => entry.type === 'function');
  if (tool) return { kind: 'call', pieces: ['{"city":', '"Paris"}'], name: String(tool.name) };
  return { kind: 'text', pieces: reply.split(/(?<= )/), name: '' };
}

function usageOf(outputTokens: number): Json {
  return { input_tokens: 40, input_tokens_details: { cached_tokens: 16 }, output_tokens: outputTokens + 5, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 45 + outputTokens };
}

function itemOf(planned: Planned, status: string): Json {
  const text = planned.pieces.join('');
  if (planned.kind === 'call') return { id: 'fc_mock', type: 'function_call', status, arguments: status === 'in_progress' ? '' : text, call_id: 'call_mock_1', name: planned.name };
  return { id: 'msg_mock', type: 'message', status, role: 'assistant', content: status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

function responseOf(body: Json, status: string, output: Json[], usage: Json | null, extra: Json = {}): Json {
  return {
    id: 'resp_mock',
    object: 'response',
    created_at: 1700000000,
    status,
    error: null,
    incomplete_details: null,
    model: `${String(body.model)}-2025-08-07`,
    output,
    parallel_tool_calls: true,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    usage,
    ...extra,
  };
}

/** The buffered Responses answer. */
export function responsesJson(body: Json, reply: string): Json {
  const planned = plan(body, reply);
  return responseOf(body, 'completed', [itemOf(planned, 'completed')], usageOf(planned.pieces.length));
}

/** The streamed Responses answer, one SSE event per string. */
export function responsesEvents(body: Json, reply: string, terminal: ResponsesTerminal = 'completed'): string[] {
  const planned = plan(body, reply);
  const events: string[] = [];
  const emit = (type: string, payload: Json) => events.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: events.length, ...payload })}\n\n`);
  emit('response.created', { response: responseOf(body, 'in_progress', [], null) });
  emit('response.in_progress', { response: responseOf(body, 'in_progress', [], null) });
  emit('response.output_item.added', { output_index: 0, item: itemOf(planned, 'in_progress') });
  const where = { item_id: planned.kind === 'call' ? 'fc_mock' : 'msg_mock', output_index: 0 };
  const text = planned.pieces.join('');
  if (planned.kind === 'call') {
    for (const delta of planned.pieces) emit('response.function_call_arguments.delta', { ...where, delta });
    emit('response.function_call_arguments.done', { ...where, name: planned.name, arguments: text });
  } else {
    emit('response.content_part.added', { ...where, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const delta of planned.pieces) emit('response.output_text.delta', { ...where, content_index: 0, delta, logprobs: [] });
    emit('response.output_text.done', { ...where, content_index: 0, text, logprobs: [] });
    emit('response.content_part.done', { ...where, content_index: 0, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
  }
  const item = itemOf(planned, terminal === 'completed' ? 'completed' : 'incomplete');
  emit('response.output_item.done', { output_index: 0, item });
  const usage = usageOf(planned.pieces.length);
  if (terminal === 'completed') emit('response.completed', { response: responseOf(body, 'completed', [item], usage) });
  else if (terminal === 'incomplete') emit('response.incomplete', { response: responseOf(body, 'incomplete', [item], usage, { incomplete_details: { reason: 'max_output_tokens' } }) });
  else emit('response.failed', { response: responseOf(body, 'failed', [item], usage, { error: { code: 'server_error', message: 'The model failed mid-answer.' } }) });
  return events;
}
