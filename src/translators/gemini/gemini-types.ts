/**
 * Minimal Gemini generateContent wire types and null-tolerant readers for the fields the translator uses.
 * The same shapes serve Vertex AI (`aiplatform`) and the Gemini API (`generativelanguage`).
 *
 * @see https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse
 */
import { asArray, asString, isRecord } from '../../core/json.js';

export type JsonObject = Record<string, unknown>;

/** One `functionCall` part of a model turn. */
export interface GeminiFunctionCall {
  readonly name: string;
  readonly args: JsonObject;
  /** Set by Gemini 3 and later; echoed on the matching functionResponse. */
  readonly id: string | undefined;
  /** Part-level `thoughtSignature` (Gemini 3 puts it on the first call of a turn). */
  readonly thoughtSignature: string | undefined;
}

/** What one candidate carries, in part order. */
export interface GeminiCandidate {
  readonly index: number;
  /** Visible text (parts without `thought: true`), concatenated. */
  readonly text: string;
  /** Thought summaries (`thought: true` text parts), concatenated. */
  readonly reasoning: string;
  readonly functionCalls: readonly GeminiFunctionCall[];
  /** Part kinds that have no OpenAI chat equivalent (inlineData, executableCode...). */
  readonly unsupportedParts: number;
  readonly finishReason: string | undefined;
  /** `logprobsResult` as sent (read by convert-logprobs.ts). */
  readonly logprobsResult: unknown;
}

export interface GeminiUsageMetadata {
  readonly promptTokenCount?: unknown;
  readonly candidatesTokenCount?: unknown;
  readonly thoughtsTokenCount?: unknown;
  readonly cachedContentTokenCount?: unknown;
  readonly totalTokenCount?: unknown;
}

export interface GeminiResponse {
  readonly candidates: readonly GeminiCandidate[];
  readonly blockReason: string | undefined;
  readonly blockReasonMessage: string | undefined;
  readonly usageMetadata: GeminiUsageMetadata | undefined;
  readonly modelVersion: string | undefined;
  readonly responseId: string | undefined;
}

function readFunctionCall(part: JsonObject, call: JsonObject): GeminiFunctionCall | undefined {
  const name = asString(call.name);
  if (name === undefined) return undefined;
  return {
    name,
    args: isRecord(call.args) ? call.args : {},
    id: asString(call.id) || undefined,
    // Older models nested the signature inside functionCall; Gemini 3 puts it on the part.
    thoughtSignature: asString(part.thoughtSignature) || asString(call.thoughtSignature) || undefined,
  };
}

function readCandidate(value: unknown, position: number): GeminiCandidate | undefined {
  if (!isRecord(value)) return undefined;
  const content = isRecord(value.content) ? value.content : undefined;
  let text = '';
  let reasoning = '';
  let unsupportedParts = 0;
  const functionCalls: GeminiFunctionCall[] = [];
  for (const part of asArray(content?.parts) ?? []) {
    if (!isRecord(part)) continue;
    if (isRecord(part.functionCall)) {
      const call = readFunctionCall(part, part.functionCall);
      if (call) functionCalls.push(call);
      continue;
    }
    const partText = asString(part.text);
    if (partText !== undefined) {
      if (part.thought === true) reasoning += partText;
      else text += partText;
      continue;
    }
    // A part holding only a signature (or nothing) carries no output.
    const kinds = Object.keys(part).filter((key) => key !== 'thoughtSignature' && key !== 'thought');
    if (kinds.length > 0) unsupportedParts += 1;
  }
  const index = typeof value.index === 'number' && Number.isInteger(value.index) && value.index >= 0 ? value.index : position;
  return { index, text, reasoning, functionCalls, unsupportedParts, finishReason: asString(value.finishReason) || undefined, logprobsResult: value.logprobsResult };
}

/** Reads a GenerateContentResponse (one SSE event or a whole buffered body). Undefined when it is not an object. */
export function readGeminiResponse(value: unknown): GeminiResponse | undefined {
  if (!isRecord(value)) return undefined;
  const candidates: GeminiCandidate[] = [];
  for (const [position, raw] of (asArray(value.candidates) ?? []).entries()) {
    const candidate = readCandidate(raw, position);
    if (candidate) candidates.push(candidate);
  }
  const feedback = isRecord(value.promptFeedback) ? value.promptFeedback : undefined;
  return {
    candidates,
    blockReason: asString(feedback?.blockReason) || undefined,
    blockReasonMessage: asString(feedback?.blockReasonMessage) || undefined,
    usageMetadata: isRecord(value.usageMetadata) ? value.usageMetadata : undefined,
    modelVersion: asString(value.modelVersion) || undefined,
    responseId: asString(value.responseId) || undefined,
  };
}

/** Google's error envelope `{error:{code,message,status}}` (also inside a one-element array). */
export interface GoogleError {
  readonly code: number | undefined;
  readonly message: string;
  readonly status: string | undefined;
}

export function readGoogleError(value: unknown): GoogleError | undefined {
  const envelope = Array.isArray(value) && value.length > 0 ? value[0] : value;
  if (!isRecord(envelope) || !isRecord(envelope.error)) return undefined;
  const error = envelope.error;
  const code = typeof error.code === 'number' && Number.isInteger(error.code) ? error.code : undefined;
  const message = asString(error.message) ?? '';
  return { code, message, status: asString(error.status) || undefined };
}
