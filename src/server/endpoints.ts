/**
 * Client-facing endpoints: exact path match (query string ignored), as Envoy AI Gateway registers them.
 */
import type { ClientApi, Operation } from '../translators/types.js';

export interface Endpoint {
  readonly method: 'POST' | 'GET';
  readonly clientApi: ClientApi;
  /** Undefined for endpoints the service answers itself. */
  readonly operation: Operation | undefined;
  /**
   * OTel gen_ai.operation.name, a well-known value of the GenAI conventions where one fits: chat (chat completions,
   * Responses and Anthropic Messages), text_completion, embeddings, generate_content (image generation). count_tokens (for
   * Anthropic's count_tokens and the Responses API's input_tokens alike) and models name what the service does; the
   * conventions have no value for them.
   */
  readonly operationName: string;
  /** Answered by the service itself: a model list, or an input token count (a local estimate, when no provider counts). */
  readonly local?: 'models' | 'count_tokens';
}

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/v1/chat/completions', { method: 'POST', clientApi: 'openai', operation: 'chat', operationName: 'chat' }],
  // The Responses API is a chat operation in the GenAI conventions' sense (a model answering a conversation).
  ['/v1/responses', { method: 'POST', clientApi: 'openai', operation: 'responses', operationName: 'chat' }],
  // The Responses API's input token count: OpenAI's counting API when every backend of the model is OpenAI, else local.
  ['/v1/responses/input_tokens', { method: 'POST', clientApi: 'openai', operation: 'input_tokens', operationName: 'count_tokens', local: 'count_tokens' }],
  ['/v1/completions', { method: 'POST', clientApi: 'openai', operation: 'completion', operationName: 'text_completion' }],
  ['/v1/embeddings', { method: 'POST', clientApi: 'openai', operation: 'embeddings', operationName: 'embeddings' }],
  // The GenAI conventions have no image operation; multimodal generation is generate_content.
  ['/v1/images/generations', { method: 'POST', clientApi: 'openai', operation: 'image_generation', operationName: 'generate_content' }],
  ['/v1/models', { method: 'GET', clientApi: 'openai', operation: undefined, operationName: 'models', local: 'models' }],
  ['/anthropic/v1/messages', { method: 'POST', clientApi: 'anthropic', operation: 'messages', operationName: 'chat' }],
  // Routed to the provider's counting API when every backend of the model has one, else answered locally.
  ['/anthropic/v1/messages/count_tokens', { method: 'POST', clientApi: 'anthropic', operation: 'count_tokens', operationName: 'count_tokens', local: 'count_tokens' }],
  ['/anthropic/v1/models', { method: 'GET', clientApi: 'anthropic', operation: undefined, operationName: 'models', local: 'models' }],
  // Anthropic's own paths, for clients pointed at the gateway's root (ANTHROPIC_BASE_URL=http://gateway).
  ['/v1/messages', { method: 'POST', clientApi: 'anthropic', operation: 'messages', operationName: 'chat' }],
  ['/v1/messages/count_tokens', { method: 'POST', clientApi: 'anthropic', operation: 'count_tokens', operationName: 'count_tokens', local: 'count_tokens' }],
]);

/** Every endpoint that reaches a backend (or may: count_tokens), with its path, in a stable order. */
export function operationEndpoints(): Array<{ path: string; endpoint: Endpoint & { operation: Operation } }> {
  return [...ENDPOINTS].flatMap(([path, endpoint]) => (endpoint.operation === undefined ? [] : [{ path, endpoint: { ...endpoint, operation: endpoint.operation } }]));
}

/** The endpoint for a `:path`, ignoring the query string. */
export function findEndpoint(path: string): Endpoint | undefined {
  const queryAt = path.indexOf('?');
  return ENDPOINTS.get(queryAt === -1 ? path : path.slice(0, queryAt));
}

/** The client API to answer errors in, for any path (also unknown ones). */
export function clientApiForPath(path: string): ClientApi {
  return path.startsWith('/anthropic/') || path === '/v1/messages' || path.startsWith('/v1/messages/') || path.startsWith('/v1/messages?') ? 'anthropic' : 'openai';
}

/** True when a content-type denotes JSON (application/json, with parameters, or a +json type). */
export function isJsonContentType(contentType: string): boolean {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}
