/**
 * The OpenAI Responses API (`POST /v1/responses`) as a client API.
 *
 * OpenAI, AzureOpenAI: passthrough (passthrough.ts), usage read from the terminal event of a stream.
 * Every other backend: stateless requests through the backend's chat translator (pivot.ts).
 * `POST /v1/responses/input_tokens`: OpenAI's counting API, else a local estimate of the chat pivot (input-tokens.ts).
 * Nothing is built here: the translator table (table.ts) composes them when the service is composed.
 */
export { azureResponsesPath, createResponsesPassthrough, openAIResponsesPath } from './passthrough.js';
export { createInputTokensPassthrough, responsesCountingBody } from './input-tokens.js';
export { responsesViaChat } from './pivot.js';
