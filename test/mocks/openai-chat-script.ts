/**
 * A scripted OpenAI chat completions upstream for http-mock (`startHttpMock(openAIChatScript)`), for tool loops.
 * It checks the bearer key (`test-openai-key`) and that every tool message answers a tool call of the assistant
 * message before it (both rejected by the real API); it answers a get_weather tool call when tools are offered,
 * the tool result when one came back, else a greeting; it streams with a usage chunk only when asked.
 */
import { sseEvent, type MockReply, type RecordedRequest } from './http-mock.js';

type Json = Record<string, unknown>;

function openAIError(status: number, message: string, code: string | null): MockReply {
  return { kind: 'json', status, body: { error: { message, type: 'invalid_request_error', param: null, code } } };
}

export function openAIChatScript(request: RecordedRequest): MockReply {
  if (!request.path.endsWith('/chat/completions')) return openAIError(404, 'Unknown request URL', 'unknown_url');
  if (request.headers.authorization !== 'Bearer test-openai-key') return openAIError(401, 'Incorrect API key provided', 'invalid_api_key');
  const body = request.json() as Json;
  const messages = body.messages as Json[];
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'tool') continue;
    const calls = (messages.slice(0, index).reverse().find((entry) => entry.role !== 'tool')?.tool_calls ?? []) as Json[];
    if (!calls.some((call) => call.id === message.tool_call_id)) {
      return openAIError(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", null);
    }
  }
  const last = messages.at(-1) ?? {};
  const model = String(body.model);
  const usage = { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37, prompt_tokens_details: { cached_tokens: 10 } };
  let message: Json;
  let finish: string;
  if (last.role === 'tool') [message, finish] = [{ role: 'assistant', content: `Tool said: ${String(last.content)}` }, 'stop'];
  else if (Array.isArray(body.tools)) {
    message = { role: 'assistant', content: null, tool_calls: [{ id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
    finish = 'tool_calls';
  } else [message, finish] = [{ role: 'assistant', content: `Hello! You said: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}` }, 'stop'];
  if (body.stream !== true) return { kind: 'json', body: { id: 'chatcmpl-e2e', object: 'chat.completion', created: 1700000000, model, choices: [{ index: 0, message, finish_reason: finish }], usage } };
  const chunk = (delta: Json, finishReason: string | null) => sseEvent({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 1700000000, model, choices: [{ index: 0, delta, finish_reason: finishReason }] });
  const chunks = [chunk({ role: 'assistant', content: '' }, null)];
  if (typeof message.content === 'string') for (const word of message.content.split(/(?<= )/)) chunks.push(chunk({ content: word }, null));
  else {
    chunks.push(chunk({ tool_calls: [{ index: 0, id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, null));
    for (const part of ['{"city":', '"Paris"}']) chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }, null));
  }
  chunks.push(chunk({}, finish));
  if ((body.stream_options as Json | undefined)?.include_usage === true) {
    chunks.push(sseEvent({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage }));
  }
  chunks.push(sseEvent('[DONE]'));
  return { kind: 'sse', chunks };
}
