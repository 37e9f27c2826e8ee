/**
 * The Responses API on every backend that has no Responses API of its own, through the chat pivot:
 *
 *   Responses request --to-chat-*.ts--> OpenAI chat request --(the backend's chat translator)--> backend request
 *   backend response  --(the backend's chat translator)--> OpenAI chat response --convert-response.ts /
 *                                                          from-chat-stream.ts--> Responses response / events
 *
 * The chat side is the very translator an OpenAI chat client gets (anthropic, aws-anthropic, bedrock, gemini), so
 * each provider is translated one way only. Only stateless requests are served (check-stateless.ts: a 400 naming
 * the field otherwise). Usage is the backend translator's own reading of the provider's usage. Errors are the
 * backend translator's OpenAI error JSON, which is also the Responses API's error shape.
 */
import { PivotStream } from '../shared/pivot-stream.js';
import type { HeaderLookup, RequestContext, ResponseResult, Translator, UpstreamRequest, Warning } from '../types.js';
import { checkStateless } from './check-stateless.js';
import { chatCompletionToResponse } from './convert-response.js';
import { ChatToResponsesStream } from './from-chat-stream.js';
import { buildChatBody } from './to-chat-request.js';

const encoder = new TextEncoder();

/** The chat-client view of the request: the pivot body, everything else as the client sent it. */
function chatRequestContext(ctx: RequestContext, warnings: Warning[]): RequestContext {
  const body = buildChatBody(ctx, warnings);
  return { ...ctx, operation: 'chat', body, rawBody: encoder.encode(JSON.stringify(body)), forceIncludeUsage: false };
}

/**
 * The chat-client view for reading the answer: the backend translators read only the model, the clock, ids and
 * `stream_options` from it. Usage is always asked for (it closes the Responses stream) and never hidden.
 */
function chatAnswerContext(ctx: RequestContext): RequestContext {
  const body = { model: ctx.upstreamModel, stream: ctx.stream, ...(ctx.stream ? { stream_options: { include_usage: true } } : {}) };
  return { ...ctx, operation: 'chat', body, forceIncludeUsage: false };
}


/** A Responses translator for a backend, through its chat translator. */
export function responsesViaChat(target: Translator): Translator {
  return {
    request(ctx): UpstreamRequest {
      checkStateless(ctx.body);
      const warnings: Warning[] = [];
      const upstream = target.request(chatRequestContext(ctx, warnings));
      const all = [...warnings, ...(upstream.warnings ?? [])];
      return { ...upstream, ...(all.length > 0 ? { warnings: all } : {}) };
    },
    response(ctx, body, headers): ResponseResult {
      const result = target.response(chatAnswerContext(ctx), body, headers);
      if (result.error) return result;
      const converted = chatCompletionToResponse(ctx, result.body ?? body, result.usage);
      const warnings = result.warnings ?? [];
      return {
        ...converted,
        ...(result.responseModel ? { responseModel: result.responseModel } : {}),
        ...(result.usageEstimated ? { usageEstimated: true } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },
    error(ctx, status, body, headers: HeaderLookup) {
      return target.error(chatAnswerContext(ctx), status, body, headers);
    },
    stream(ctx, headers) {
      return new PivotStream(target.stream(chatAnswerContext(ctx), headers), new ChatToResponsesStream(ctx));
    },
    streamContentType: 'text/event-stream',
  };
}
