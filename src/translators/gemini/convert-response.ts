/**
 * Gemini GenerateContentResponse (buffered) -> OpenAI chat.completion.
 *
 * - each candidate -> one choice (candidateCount / `n` > 1 gives several); `logprobsResult` -> `logprobs`
 *   (convert-logprobs.ts); text parts -> `content`, thought parts
 *   -> `reasoning_content` (a plain string), functionCall parts -> `tool_calls` with `arguments` as JSON text;
 * - tool call id: Gemini's functionCall.id when it sends one, else `call_<generated>`; a thought signature is
 *   carried on the tool call (see tool-call-id.ts);
 * - `id` = `chatcmpl-<responseId>`, `model` = modelVersion (else the upstream model), `created` = now;
 * - HTTP 200 that is a failure: `promptFeedback.blockReason` with no candidate -> a 400 content_filter error;
 *   no candidate at all, a non-JSON body or an error object -> an error, never an empty success.
 *
 * @see https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { safeParseJson, utf8 } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, ResponseResult, Warning } from '../types.js';
import { googleErrorShape } from './convert-error.js';
import { convertUsage, openAIUsage } from './convert-usage.js';
import { readGeminiResponse, readGoogleError, type GeminiCandidate, type GeminiFunctionCall, type GeminiResponse } from './gemini-types.js';
import { openAILogprobs } from './convert-logprobs.js';
import { mapFinishReason } from './map-finish-reason.js';
import { encodeToolCallId, signatureExtraContent } from './tool-call-id.js';

/** One OpenAI tool call for a Gemini functionCall (`index` is added by the stream mapper). */
export function openAIToolCall(call: GeminiFunctionCall, ctx: RequestContext): Record<string, unknown> {
  const id = encodeToolCallId(call.id ?? `call_${ctx.generateId()}`, call.thoughtSignature);
  const out: Record<string, unknown> = { id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } };
  if (call.thoughtSignature) out.extra_content = signatureExtraContent(call.thoughtSignature);
  return out;
}

/** The error for a 200 response that has no candidate. */
export function noCandidateError(response: GeminiResponse): ErrorShape {
  if (response.blockReason) {
    const detail = response.blockReasonMessage ? `: ${response.blockReasonMessage}` : '';
    return {
      status: 400,
      message: `Gemini blocked the prompt (${response.blockReason})${detail}`,
      type: 'invalid_request_error',
      code: 'content_filter',
    };
  }
  return { status: 502, message: 'Gemini returned no candidates', type: 'server_error', code: 'upstream_invalid_response' };
}

function failure(error: ErrorShape, usage: TokenUsage | undefined, model?: string): ResponseResult {
  return { body: utf8(openAIErrorBody(error)), usage, error, ...(model ? { responseModel: model } : {}) };
}

function choice(candidate: GeminiCandidate, ctx: RequestContext, warnings: Warning[]): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: candidate.text === '' ? null : candidate.text };
  if (candidate.reasoning !== '') message.reasoning_content = candidate.reasoning;
  if (candidate.functionCalls.length > 0) message.tool_calls = candidate.functionCalls.map((call) => openAIToolCall(call, ctx));
  if (candidate.unsupportedParts > 0) {
    warnings.push({ kind: 'unsupported_output_part', detail: `${candidate.unsupportedParts} Gemini part(s) without an OpenAI equivalent` });
  }
  const called = candidate.functionCalls.length > 0;
  let finishReason: string = called ? 'tool_calls' : 'stop';
  if (candidate.finishReason) {
    const mapped = mapFinishReason(candidate.finishReason, called);
    finishReason = mapped.reason;
    if (mapped.warning) warnings.push(mapped.warning);
  }
  return { index: candidate.index, message, logprobs: openAILogprobs(candidate.logprobsResult) ?? null, finish_reason: finishReason };
}

export function convertResponse(ctx: RequestContext, body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  if (!parsed.ok) {
    return failure({ status: 502, message: 'Gemini returned a body that is not JSON', type: 'server_error', code: 'upstream_invalid_response' }, undefined);
  }
  const googleError = readGoogleError(parsed.value);
  if (googleError) {
    const status = googleError.code !== undefined && googleError.code >= 400 && googleError.code <= 599 ? googleError.code : 502;
    return failure(googleErrorShape(googleError, status), undefined);
  }
  const response = readGeminiResponse(parsed.value);
  if (!response) {
    return failure({ status: 502, message: 'Gemini returned an unexpected body', type: 'server_error', code: 'upstream_invalid_response' }, undefined);
  }
  const usage = convertUsage(response.usageMetadata);
  if (response.candidates.length === 0) return failure(noCandidateError(response), usage, response.modelVersion);

  const warnings: Warning[] = [];
  const id = `chatcmpl-${response.responseId ?? ctx.generateId()}`;
  const choices = response.candidates.map((candidate) => choice(candidate, ctx, warnings));
  const model = response.modelVersion ?? ctx.upstreamModel;
  const out: Record<string, unknown> = { id, object: 'chat.completion', created: Math.floor(ctx.now() / 1000), model, choices };
  if (usage) out.usage = openAIUsage(usage);
  return { body: utf8(JSON.stringify(out)), usage, responseModel: model, ...(warnings.length > 0 ? { warnings } : {}) };
}
