/**
 * The Anthropic Messages ingress on every backend that is not Claude, through ONE pivot: OpenAI chat completions.
 *
 *   Anthropic request --to-openai-*.ts--> OpenAI chat request --(the backend's OpenAI translator)--> backend request
 *   backend response  --(the backend's OpenAI translator)--> OpenAI chat response --from-openai-*.ts--> Anthropic
 *
 * The OpenAI side is the same translator an OpenAI client gets (openai, azure-openai, bedrock, gemini), so every
 * backend is translated one way only. The pivot body is plain OpenAI for OpenAI and Azure; for Bedrock and Gemini it
 * also carries the vendor fields those translators read (PivotOptions: cache_control, signed thinking_blocks, the
 * `thinking` object, top_k, images in tool results), so nothing both ends can express is lost on the way. On the way
 * back, usage is the backend translator's own (cache reads and writes included), not a re-read of the OpenAI usage
 * object; reasoning signatures ride on `thinking_blocks`; Gemini thought signatures ride on the tool call ids.
 * Errors: the backend translator's OpenAI error, re-shaped as Anthropic's with the status kept.
 */
import { PivotStream } from '../shared/pivot-stream.js';
import type { HeaderLookup, RequestContext, ResponseResult, Translator, UpstreamRequest, Warning } from '../types.js';
import { anthropicClientError } from './anthropic-error.js';
import { openAIResponseToAnthropic } from './from-openai-response.js';
import { OpenAIToAnthropicStream } from './from-openai-stream.js';
import { OPENAI_PIVOT, type PivotOptions } from './to-openai-messages.js';
import { buildOpenAIChatBody } from './to-openai-request.js';

/** Anthropic-only headers that must not reach a backend that is not Claude. */
const ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta'];

const encoder = new TextEncoder();

/** The OpenAI-client view of the request: the pivot body, and everything else as the client sent it. */
export function pivotContext(ctx: RequestContext, options: PivotOptions, warnings: Warning[]): RequestContext {
  const body = buildOpenAIChatBody(ctx, warnings, options);
  return { ...ctx, clientApi: 'openai', operation: 'chat', body, rawBody: encoder.encode(JSON.stringify(body)), forceIncludeUsage: false };
}

/**
 * The OpenAI-client view for reading the answer. Response and stream translators read only the model, ids, the
 * clock and `stream_options` from it, so the pivot messages are not rebuilt: usage is always asked for (the
 * Anthropic stream's message_delta needs it) and never hidden.
 */
function answerContext(ctx: RequestContext): RequestContext {
  const body = { model: ctx.upstreamModel, stream: ctx.stream, ...(ctx.stream ? { stream_options: { include_usage: true } } : {}) };
  return { ...ctx, clientApi: 'openai', operation: 'chat', body, forceIncludeUsage: false };
}

function withWarnings(result: ResponseResult, extra: readonly Warning[] | undefined): ResponseResult {
  const warnings = [...(result.warnings ?? []), ...(extra ?? [])];
  return warnings.length > 0 ? { ...result, warnings } : result;
}

/** An Anthropic Messages translator for a backend, through its OpenAI chat translator. */
export function viaOpenAIChat(target: Translator, optionsFor: (ctx: RequestContext) => PivotOptions = () => OPENAI_PIVOT): Translator {
  return {
    request(ctx): UpstreamRequest {
      const warnings: Warning[] = [];
      const pivot = pivotContext(ctx, optionsFor(ctx), warnings);
      const upstream = target.request(pivot);
      const all = [...warnings, ...(upstream.warnings ?? [])];
      return {
        ...upstream,
        removeHeaders: [...new Set([...upstream.removeHeaders, ...ANTHROPIC_HEADERS])],
        ...(all.length > 0 ? { warnings: all } : {}),
      };
    },
    response(ctx, body, headers): ResponseResult {
      const result = target.response(answerContext(ctx), body, headers);
      if (result.error) return result;
      const anthropic = openAIResponseToAnthropic(ctx, result.body ?? body, result.usage);
      return withWarnings({ ...anthropic, ...(result.responseModel ? { responseModel: result.responseModel } : {}) }, result.warnings);
    },
    error(ctx, status, body, headers: HeaderLookup) {
      const translated = target.error(answerContext(ctx), status, body, headers);
      return anthropicClientError(translated.status ?? status, translated.body, new Map());
    },
    stream(ctx, headers) {
      return new PivotStream(target.stream(answerContext(ctx), headers), new OpenAIToAnthropicStream(ctx));
    },
    streamContentType: 'text/event-stream',
  };
}

/** True for Bedrock model ids of Claude (which take the Anthropic `thinking` object in Converse). */
export function isClaudeModel(model: string): boolean {
  const id = model.toLowerCase();
  return id.includes('anthropic') || id.includes('claude');
}

/** What the Bedrock Converse translator reads beyond plain OpenAI. */
export function bedrockPivotOptions(ctx: RequestContext): PivotOptions {
  const claude = isClaudeModel(ctx.upstreamModel);
  return { cacheControl: true, thinkingBlocks: true, vendorThinking: claude, topK: false, toolResultImages: true, toolErrors: true, anthropicBeta: claude };
}

/**
 * Gemini's documented thinking budget maximum on Gemini 2.5 Flash, the smallest among the models that take a budget
 * (Claude Code asks for up to 31999).
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
export const GEMINI_THINKING_BUDGET_CAP = 24576;

/** What the Gemini translator reads beyond plain OpenAI (it has no inline cache breakpoints or thinking input). */
export function geminiPivotOptions(_ctx: RequestContext): PivotOptions {
  return { cacheControl: false, thinkingBlocks: false, vendorThinking: true, topK: true, toolResultImages: false, thinkingBudgetCap: GEMINI_THINKING_BUDGET_CAP };
}
