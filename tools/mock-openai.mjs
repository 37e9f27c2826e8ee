#!/usr/bin/env node
// A tiny OpenAI-compatible mock provider for the local stack (docker-compose.yml): no API key needed.
// POST /v1/chat/completions (JSON or SSE, with usage), /v1/completions, /v1/embeddings; GET /v1/models,
// /healthz. It answers with a canned reply that echoes the last user message. Listens on $PORT (default
// 8080; 0 picks a free port) and prints "mock-openai listening on http://HOST:PORT".
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const MAX_BODY = 32 * 1024 * 1024;

function send(response, status, body, headers = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function error(response, status, message, code) {
  send(response, status, { error: { message, type: status === 404 ? 'not_found_error' : 'invalid_request_error', param: null, code } });
}

/** A rough token count: about four characters per token, at least one. */
function tokens(text) {
  return Math.max(1, Math.ceil(String(text).length / 4));
}

function lastUserText(messages) {
  const last = [...(Array.isArray(messages) ? messages : [])].reverse().find((message) => message && message.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) return last.content.map((part) => (part && typeof part.text === 'string' ? part.text : '')).join(' ');
  return '';
}

let counter = 0;
const nextId = (prefix) => `${prefix}-mock-${++counter}`;

function chat(response, body) {
  const prompt = JSON.stringify(body.messages ?? '');
  const reply = `Hello from mock-openai. You said: ${lastUserText(body.messages).slice(0, 200)}`;
  const usage = { prompt_tokens: tokens(prompt), completion_tokens: tokens(reply), total_tokens: tokens(prompt) + tokens(reply) };
  const id = nextId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const model = typeof body.model === 'string' ? body.model : 'mock-gpt';
  if (body.stream !== true) {
    send(response, 200, {
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, logprobs: null, finish_reason: 'stop' }],
      usage,
    });
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  response.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  for (const word of reply.split(/(?<= )/)) response.write(chunk([{ index: 0, delta: { content: word }, finish_reason: null }]));
  response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  if (body.stream_options && body.stream_options.include_usage === true) response.write(chunk([], { usage }));
  response.end('data: [DONE]\n\n');
}

function completions(response, body) {
  const text = ' This is mock-openai.';
  const usage = { prompt_tokens: tokens(body.prompt ?? ''), completion_tokens: tokens(text), total_tokens: tokens(body.prompt ?? '') + tokens(text) };
  send(response, 200, {
    id: nextId('cmpl'), object: 'text_completion', created: Math.floor(Date.now() / 1000), model: body.model ?? 'mock-gpt',
    choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage,
  });
}

function embeddings(response, body) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, String(input).length / 1000] }));
  const promptTokens = inputs.reduce((sum, input) => sum + tokens(input), 0);
  send(response, 200, { object: 'list', data, model: body.model ?? 'mock-embedding', usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
}

export function handle(request, response) {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method === 'GET' && path === '/healthz') return send(response, 200, { status: 'ok' });
  if (request.method === 'GET' && path === '/v1/models') {
    return send(response, 200, { object: 'list', data: [{ id: 'mock-gpt', object: 'model', created: 1700000000, owned_by: 'mock-openai' }] });
  }
  if (request.method !== 'POST') return error(response, 404, `no route for ${request.method} ${path}`, 'unknown_url');
  const chunks = [];
  let size = 0;
  request.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  });
  request.on('end', () => {
    if (size > MAX_BODY) return error(response, 413, 'request body too large', 'request_too_large');
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return error(response, 400, 'request body is not valid JSON', 'invalid_json');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return error(response, 400, 'request body must be a JSON object', 'invalid_body');
    if (path === '/v1/chat/completions') return chat(response, body);
    if (path === '/v1/completions') return completions(response, body);
    if (path === '/v1/embeddings') return embeddings(response, body);
    return error(response, 404, `no route for POST ${path}`, 'unknown_url');
  });
}

export function start(port = Number(process.env.PORT ?? 8080), host = process.env.HOST ?? '0.0.0.0') {
  const server = createServer(handle);
  server.listen(port, host, () => {
    const address = server.address();
    process.stdout.write(`mock-openai listening on http://${host}:${address.port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) start();
