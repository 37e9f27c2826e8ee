/**
 * Gemini streamGenerateContent (`alt=sse`) -> OpenAI chat.completion.chunk SSE.
 *
 * Framing by the core SseDecoder (any line ending, so `\r\n\r\n`-delimited events work; state across chunks).
 * Per upstream event and candidate: one chunk whose delta has `content` (text parts), `reasoning_content`
 * (thought parts) and `tool_calls` (each call complete in one delta: id, name, full arguments JSON, sequential
 * index; Gemini never splits a call), with `logprobs` for that event's tokens when Gemini sent them
 * (convert-logprobs.ts). `role: "assistant"` rides on each choice's first chunk. A finishReason
 * becomes its own chunk with an empty delta, mapped by map-finish-reason.ts: `tool_calls` when the candidate
 * called a function in any earlier event. At the end: a `choices: []` usage chunk when the client asked
 * (`stream_options.include_usage`; usage forced for costs stays hidden), then `data: [DONE]`.
 *
 * Failures inside a 200 stream end it with an OpenAI error chunk and StreamStep.error (no [DONE]): an error
 * object, `promptFeedback.blockReason` without candidates (400 content_filter), an event that is not JSON, or a
 * stream that ends before every choice got a finish reason (no finish reason is invented).
 *
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { encodeSseEvent, SSE_DONE, SseDecoder, type SseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, StreamTranslator, Warning } from '../types.js';
import { noCandidateError, openAIToolCall } from './convert-response.js';
import { googleErrorShape } from './convert-error.js';
import { convertUsage, openAIUsage } from './convert-usage.js';
import { readGeminiResponse, readGoogleError, type GeminiCandidate, type GeminiResponse } from './gemini-types.js';
import { openAILogprobs } from './convert-logprobs.js';
import { mapFinishReason } from './map-finish-reason.js';

interface ChoiceState {
  roleSent: boolean;
  toolCalls: number;
  finished: boolean;
}

/** What one push/end produced. */
interface StepOutput {
  text: string;
  delivered: string;
  warnings: Warning[];
  error: ErrorShape | undefined;
}

const INVALID: Pick<ErrorShape, 'type' | 'code'> = { type: 'server_error', code: 'upstream_invalid_response' };

export class GeminiStreamMapper implements StreamTranslator {
  private readonly decoder: SseDecoder;
  private readonly choices = new Map<number, ChoiceState>();
  private readonly includeUsage: boolean;
  private readonly created: number;
  private id = '';
  private model = '';
  private started = false;
  private usage: TokenUsage | undefined;
  private failed = false;
  private ended = false;

  constructor(private readonly ctx: RequestContext) {
    this.decoder = new SseDecoder({ maxEventBytes: ctx.maxStreamEventBytes });
    const options = ctx.body.stream_options;
    this.includeUsage = isRecord(options) && options.include_usage === true;
    this.created = Math.floor(ctx.now() / 1000);
  }

  push(chunk: Uint8Array): StreamStep {
    return this.step(this.decoder.push(chunk), false);
  }

  end(): StreamStep {
    if (this.ended) return { body: new Uint8Array(0), usage: this.usage };
    this.ended = true;
    return this.step(this.decoder.end(), true);
  }

  private step(items: readonly SseItem[], final: boolean): StreamStep {
    const out: StepOutput = { text: '', delivered: '', warnings: [], error: undefined };
    for (const item of items) {
      if (this.failed) break;
      if (item.type === 'event') this.event(item.data, out);
    }
    if (final && !this.failed) this.finish(out);
    return {
      body: utf8(out.text),
      usage: this.usage,
      ...(this.started ? { responseModel: this.model } : {}),
      ...(out.delivered !== '' ? { deliveredText: out.delivered } : {}),
      ...(out.error ? { error: out.error } : {}),
      ...(out.warnings.length > 0 ? { warnings: out.warnings } : {}),
    };
  }

  private fail(error: ErrorShape, out: StepOutput): void {
    this.failed = true;
    out.error = error;
    out.text += encodeSseEvent({ data: openAIErrorBody(error) });
  }

  private event(data: string, out: StepOutput): void {
    const text = data.trim();
    if (text === '' || text === '[DONE]') return;
    const parsed = safeParseJson(text);
    if (!parsed.ok) return this.fail({ status: 502, message: 'Gemini sent a stream event that is not JSON', ...INVALID }, out);
    const googleError = readGoogleError(parsed.value);
    if (googleError) {
      const code = googleError.code;
      return this.fail(googleErrorShape(googleError, code !== undefined && code >= 400 && code <= 599 ? code : 500), out);
    }
    const response = readGeminiResponse(parsed.value);
    if (!response) return this.fail({ status: 502, message: 'Gemini sent an unexpected stream event', ...INVALID }, out);
    this.start(response);
    this.usage = convertUsage(response.usageMetadata) ?? this.usage;
    if (response.candidates.length === 0) {
      if (response.blockReason) this.fail(noCandidateError(response), out);
      return;
    }
    for (const candidate of response.candidates) this.candidate(candidate, out);
  }

  private start(response: GeminiResponse): void {
    if (this.started) return;
    this.started = true;
    this.id = `chatcmpl-${response.responseId ?? this.ctx.generateId()}`;
    this.model = response.modelVersion ?? this.ctx.upstreamModel;
  }

  private chunk(index: number, delta: Record<string, unknown>, finishReason: string | null, logprobs: unknown = null): string {
    const choice = { index, delta, logprobs, finish_reason: finishReason };
    const body = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [choice] };
    return encodeSseEvent({ data: JSON.stringify(body) });
  }

  private candidate(candidate: GeminiCandidate, out: StepOutput): void {
    let state = this.choices.get(candidate.index);
    if (!state) {
      state = { roleSent: false, toolCalls: 0, finished: false };
      this.choices.set(candidate.index, state);
    }
    const delta: Record<string, unknown> = {};
    if (candidate.text !== '') delta.content = candidate.text;
    if (candidate.reasoning !== '') delta.reasoning_content = candidate.reasoning;
    if (candidate.functionCalls.length > 0) {
      delta.tool_calls = candidate.functionCalls.map((call) => {
        const toolCall = { index: state.toolCalls, ...openAIToolCall(call, this.ctx) };
        state.toolCalls += 1;
        return toolCall;
      });
    }
    if (candidate.unsupportedParts > 0) {
      out.warnings.push({ kind: 'unsupported_output_part', detail: `${candidate.unsupportedParts} Gemini part(s) without an OpenAI equivalent` });
    }
    if (Object.keys(delta).length > 0) {
      out.text += this.chunk(candidate.index, this.withRole(state, delta), null, openAILogprobs(candidate.logprobsResult) ?? null);
      out.delivered += candidate.text + candidate.reasoning;
      for (const call of candidate.functionCalls) out.delivered += JSON.stringify(call.args);
    }
    if (candidate.finishReason && !state.finished) {
      state.finished = true;
      const mapped = mapFinishReason(candidate.finishReason, state.toolCalls > 0);
      if (mapped.warning) out.warnings.push(mapped.warning);
      out.text += this.chunk(candidate.index, this.withRole(state, {}), mapped.reason);
    }
  }

  private withRole(state: ChoiceState, delta: Record<string, unknown>): Record<string, unknown> {
    if (state.roleSent) return delta;
    state.roleSent = true;
    return { role: 'assistant', ...delta };
  }

  private finish(out: StepOutput): void {
    const unfinished = this.choices.size === 0 || [...this.choices.values()].some((state) => !state.finished);
    if (unfinished) {
      this.fail({ status: 502, message: 'the Gemini stream ended before a finish reason', ...INVALID }, out);
      return;
    }
    if (this.includeUsage && this.usage) {
      const body = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: openAIUsage(this.usage) };
      out.text += encodeSseEvent({ data: JSON.stringify(body) });
    }
    out.text += SSE_DONE;
  }
}
