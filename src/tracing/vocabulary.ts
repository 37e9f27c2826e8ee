/**
 * The two attribute vocabularies of a request's span: the OpenTelemetry GenAI semantic conventions (names as in
 * the semconv registry; the JS package marks the GenAI constants deprecated since they moved to their own
 * repository, so they are spelled here) and OpenInference (names from @arizeai/openinference-semantic-conventions,
 * what Phoenix and Arize read). Attributes every backend understands (error.type, server.address, the HTTP
 * status) and the service's own (llm_extproc.*) are in both.
 */
import {
  EMBEDDING_MODEL_NAME,
  INPUT_MIME_TYPE,
  INPUT_VALUE,
  LLM_FINISH_REASON,
  LLM_INPUT_MESSAGES,
  LLM_INVOCATION_PARAMETERS,
  LLM_MODEL_NAME,
  LLM_OUTPUT_MESSAGES,
  LLM_PROVIDER,
  LLM_REQUEST_MODEL_NAME,
  LLM_RESPONSE_MODEL_NAME,
  LLM_SYSTEM,
  LLM_TOKEN_COUNT_COMPLETION,
  LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
  LLM_TOKEN_COUNT_PROMPT,
  LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
  LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE,
  LLM_TOKEN_COUNT_TOTAL,
  MESSAGE_CONTENT,
  MESSAGE_ROLE,
  OUTPUT_MIME_TYPE,
  OUTPUT_VALUE,
  OpenInferenceSpanKind,
  SemanticConventions,
} from '@arizeai/openinference-semantic-conventions';
import type { Attributes } from '@opentelemetry/api';
import { capText, inputMessages, messagesJson, type ChatMessage } from './content.js';
import type { AttemptEnd, AttemptStart, RequestEnd, RequestFacts, RequestStart, SpanSettings } from './types.js';

const OPENINFERENCE_SPAN_KIND = SemanticConventions.OPENINFERENCE_SPAN_KIND;

/** GenAI semantic-convention attribute names. */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
} as const;

/** Attributes in both vocabularies. */
export const COMMON = {
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  httpStatus: 'http.response.status_code',
  requestId: 'llm_extproc.request.id',
  backend: 'llm_extproc.backend',
  attempts: 'llm_extproc.attempts',
  usageEstimated: 'llm_extproc.usage_estimated',
  attemptNumber: 'llm_extproc.attempt.number',
  attemptOutcome: 'llm_extproc.attempt.outcome',
  retryReason: 'llm_extproc.attempt.retry_reason',
} as const;

/** Name of the span event marking the first streamed chunk. */
export const FIRST_CHUNK_EVENT = 'gen_ai.first_chunk';

export interface Vocabulary {
  start(start: RequestStart): Attributes;
  request(facts: RequestFacts, settings: SpanSettings): Attributes;
  end(result: RequestEnd, response: { id: string | undefined; finishReasons: readonly string[] }, request: { model: string | undefined; operationName: string }): Attributes;
  output(text: string, finishReasons: readonly string[], settings: SpanSettings): Attributes;
  attempt(attempt: AttemptStart): Attributes;
}

function numberParam(body: Readonly<Record<string, unknown>>, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const value = body[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/** Sets only defined values. */
function put(attributes: Attributes, key: string, value: string | number | boolean | string[] | undefined): void {
  if (value !== undefined) attributes[key] = value;
}

function common(result: RequestEnd, attributes: Attributes): void {
  put(attributes, COMMON.errorType, result.errorType);
  if (result.status > 0) attributes[COMMON.httpStatus] = result.status;
  put(attributes, COMMON.serverAddress, result.serverAddress);
  put(attributes, COMMON.serverPort, result.serverPort);
  put(attributes, COMMON.backend, result.backend);
  attributes[COMMON.attempts] = result.attempts;
  if (result.usageEstimated) attributes[COMMON.usageEstimated] = true;
}

function timeToFirstChunk(result: RequestEnd): number | undefined {
  if (result.firstChunkAt === undefined || result.attemptStartedAt === undefined) return undefined;
  return Math.max(0, (result.firstChunkAt - result.attemptStartedAt) / 1000);
}

const genAi: Vocabulary = {
  start: (start) => ({ [GEN_AI.operationName]: start.operationName, ...start.headerAttributes }),
  request(facts, settings) {
    const attributes: Attributes = { [GEN_AI.requestModel]: facts.model, [GEN_AI.requestStream]: facts.stream };
    put(attributes, GEN_AI.requestMaxTokens, numberParam(facts.body, 'max_tokens', 'max_completion_tokens'));
    put(attributes, GEN_AI.requestTemperature, numberParam(facts.body, 'temperature'));
    put(attributes, GEN_AI.requestTopP, numberParam(facts.body, 'top_p'));
    if (settings.captureContent) attributes[GEN_AI.inputMessages] = messagesJson(inputMessages(facts.body), settings.maxContentChars);
    return attributes;
  },
  end(result, response) {
    const attributes: Attributes = {};
    common(result, attributes);
    put(attributes, GEN_AI.providerName, result.providerName);
    put(attributes, GEN_AI.responseModel, result.responseModel);
    put(attributes, GEN_AI.responseId, response.id);
    if (response.finishReasons.length > 0) attributes[GEN_AI.responseFinishReasons] = [...response.finishReasons];
    const usage = result.usage;
    attributes[GEN_AI.inputTokens] = usage.inputTokens;
    attributes[GEN_AI.outputTokens] = usage.outputTokens;
    if (usage.cachedInputTokens > 0) attributes[GEN_AI.cacheReadInputTokens] = usage.cachedInputTokens;
    if (usage.cacheCreationInputTokens > 0) attributes[GEN_AI.cacheCreationInputTokens] = usage.cacheCreationInputTokens;
    if (usage.reasoningTokens > 0) attributes[GEN_AI.reasoningOutputTokens] = usage.reasoningTokens;
    put(attributes, GEN_AI.responseTimeToFirstChunk, timeToFirstChunk(result));
    return attributes;
  },
  output(text, finishReasons, settings) {
    const message: ChatMessage = { role: 'assistant', parts: [{ type: 'text', content: text }], ...(finishReasons[0] ? { finish_reason: finishReasons[0] } : {}) };
    return { [GEN_AI.outputMessages]: messagesJson([message], settings.maxContentChars) };
  },
  attempt: (attempt) => ({
    [GEN_AI.operationName]: 'attempt',
    [GEN_AI.providerName]: attempt.providerName,
    [GEN_AI.requestModel]: attempt.upstreamModel,
    [COMMON.backend]: attempt.backend,
    [COMMON.attemptNumber]: attempt.number,
    [COMMON.serverAddress]: attempt.serverAddress,
    [COMMON.serverPort]: attempt.serverPort,
  }),
};

/** OpenInference's provider and system values for a GenAI provider name. */
const OPENINFERENCE_PROVIDER: Record<string, { provider: string; system: string }> = {
  openai: { provider: 'openai', system: 'openai' },
  'azure.openai': { provider: 'azure', system: 'openai' },
  anthropic: { provider: 'anthropic', system: 'anthropic' },
  'aws.bedrock': { provider: 'aws', system: 'amazon' },
  'aws.anthropic': { provider: 'aws', system: 'anthropic' },
  'gcp.vertex_ai': { provider: 'google', system: 'vertexai' },
  'gcp.anthropic': { provider: 'google', system: 'anthropic' },
  'gcp.gen_ai': { provider: 'google', system: 'vertexai' },
};

function flattenedText(message: ChatMessage): string {
  return message.parts.map((part) => part.content ?? (part.name !== undefined ? `${part.name}(${part.arguments ?? ''})` : `[${part.type}]`)).join('');
}

/** How many messages get their own llm.input_messages.N attributes. */
const MAX_OPENINFERENCE_MESSAGES = 64;

const openInference: Vocabulary = {
  start: (start) => ({
    [OPENINFERENCE_SPAN_KIND]: start.operationName === 'embeddings' ? OpenInferenceSpanKind.EMBEDDING : OpenInferenceSpanKind.LLM,
    ...start.headerAttributes,
  }),
  request(facts, settings) {
    const attributes: Attributes = { [LLM_MODEL_NAME]: facts.model, [LLM_REQUEST_MODEL_NAME]: facts.model };
    const parameters: Record<string, unknown> = { stream: facts.stream };
    for (const key of ['max_tokens', 'max_completion_tokens', 'temperature', 'top_p']) {
      if (numberParam(facts.body, key) !== undefined) parameters[key] = facts.body[key];
    }
    attributes[LLM_INVOCATION_PARAMETERS] = JSON.stringify(parameters);
    if (settings.captureContent) {
      const messages = inputMessages(facts.body);
      attributes[INPUT_VALUE] = messagesJson(messages, settings.maxContentChars);
      attributes[INPUT_MIME_TYPE] = 'application/json';
      messages.slice(0, MAX_OPENINFERENCE_MESSAGES).forEach((message, index) => {
        attributes[`${LLM_INPUT_MESSAGES}.${index}.${MESSAGE_ROLE}`] = message.role;
        attributes[`${LLM_INPUT_MESSAGES}.${index}.${MESSAGE_CONTENT}`] = capText(flattenedText(message), settings.maxContentChars);
      });
    }
    return attributes;
  },
  end(result, response, request) {
    const attributes: Attributes = {};
    common(result, attributes);
    const provider = result.providerName === undefined ? undefined : OPENINFERENCE_PROVIDER[result.providerName];
    put(attributes, LLM_PROVIDER, provider?.provider);
    put(attributes, LLM_SYSTEM, provider?.system);
    const model = result.responseModel ?? request.model;
    put(attributes, LLM_MODEL_NAME, model);
    put(attributes, LLM_RESPONSE_MODEL_NAME, result.responseModel);
    if (response.finishReasons[0] !== undefined) attributes[LLM_FINISH_REASON] = response.finishReasons[0];
    if (model !== undefined && request.operationName === 'embeddings') attributes[EMBEDDING_MODEL_NAME] = model;
    const usage = result.usage;
    attributes[LLM_TOKEN_COUNT_PROMPT] = usage.inputTokens;
    attributes[LLM_TOKEN_COUNT_COMPLETION] = usage.outputTokens;
    attributes[LLM_TOKEN_COUNT_TOTAL] = usage.totalTokens;
    if (usage.cachedInputTokens > 0) attributes[LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ] = usage.cachedInputTokens;
    if (usage.cacheCreationInputTokens > 0) attributes[LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE] = usage.cacheCreationInputTokens;
    if (usage.reasoningTokens > 0) attributes[LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING] = usage.reasoningTokens;
    put(attributes, GEN_AI.responseTimeToFirstChunk, timeToFirstChunk(result));
    put(attributes, 'llm_extproc.response.id', response.id);
    return attributes;
  },
  output(text, _finishReasons, settings) {
    const capped = capText(text, settings.maxContentChars);
    return {
      [OUTPUT_VALUE]: capped,
      [OUTPUT_MIME_TYPE]: 'text/plain',
      [`${LLM_OUTPUT_MESSAGES}.0.${MESSAGE_ROLE}`]: 'assistant',
      [`${LLM_OUTPUT_MESSAGES}.0.${MESSAGE_CONTENT}`]: capped,
    };
  },
  attempt(attempt) {
    const provider = OPENINFERENCE_PROVIDER[attempt.providerName];
    const attributes: Attributes = {
      [OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.CHAIN,
      [LLM_MODEL_NAME]: attempt.upstreamModel,
      [COMMON.backend]: attempt.backend,
      [COMMON.attemptNumber]: attempt.number,
      [COMMON.serverAddress]: attempt.serverAddress,
      [COMMON.serverPort]: attempt.serverPort,
    };
    put(attributes, LLM_PROVIDER, provider?.provider);
    return attributes;
  },
};

export function vocabularyFor(settings: SpanSettings): Vocabulary {
  return settings.conventions === 'openinference' ? openInference : genAi;
}

/** Attributes of an attempt's end, in both vocabularies. */
export function attemptEndAttributes(result: AttemptEnd): Attributes {
  const attributes: Attributes = { [COMMON.attemptOutcome]: result.outcome };
  if (result.status !== undefined && result.status > 0) attributes[COMMON.httpStatus] = result.status;
  put(attributes, COMMON.errorType, result.errorType);
  put(attributes, COMMON.retryReason, result.retryReason);
  return attributes;
}
