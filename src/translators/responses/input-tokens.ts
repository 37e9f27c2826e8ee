/**
 * `POST /v1/responses/input_tokens`, the Responses API's input token count.
 *
 * OpenAI (and OpenAI-compatible servers that implement it): the client's body goes to `<prefix>/responses/input_tokens`
 * with only `model` replaced (modelNameOverride); the answer `{"object": "response.input_tokens", "input_tokens": N}`
 * passes through unchanged. A count consumes no tokens: no usage is reported.
 *
 * Every other schema, Azure OpenAI included (its v1 API does not document the path, and users report a 404 for it),
 * is answered locally from the tiktoken estimate of the request's chat pivot (`responsesCountingBody`, counted by
 * src/server/count-tokens-local.ts).
 * @see https://platform.openai.com/docs/api-reference/responses/input-tokens
 */
import { isRecord, safeParseJson } from '../../core/json.js';
import { buildOpenAIBody } from '../openai/build-openai-request.js';
import { convertOpenAIError } from '../openai/convert-openai-error.js';
import { UnchangedStream } from '../shared/unchanged-stream.js';
import type { RequestContext, ResponseResult, Translator, Warning } from '../types.js';
import { checkStateless } from './check-stateless.js';
import { openAIResponsesPath } from './passthrough.js';
import { buildChatBody } from './to-chat-request.js';

/** `${prefix}/responses/input_tokens`. */
function inputTokensPath(ctx: RequestContext): string {
  return `${openAIResponsesPath(ctx)}/input_tokens`;
}

/** The provider's answer, unchanged; a 2xx without a count is a failure. */
function readCount(body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  const count = parsed.ok && isRecord(parsed.value) ? parsed.value.input_tokens : undefined;
  if (!(typeof count === 'number' && Number.isInteger(count) && count >= 0)) return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream answered input_tokens without a token count', code: 'upstream_invalid_response' } };
  return { body: undefined, usage: undefined };
}

/** OpenAI's counting API (built by the translator table, like every translator). */
export function createInputTokensPassthrough(): Translator {
  return {
    request: (ctx) => ({ path: inputTokensPath(ctx), body: buildOpenAIBody({ ...ctx, forceIncludeUsage: false }), setHeaders: { 'content-type': 'application/json' }, removeHeaders: [] }),
    response: (_ctx, body) => readCount(body),
    error: (_ctx, status, body, headers) => convertOpenAIError(status, body, headers),
    stream: () => new UnchangedStream(),
  };
}

/**
 * The chat completions body a Responses body is served as on a backend without a Responses API (the same
 * conversion /v1/responses uses), for counting. Throws the same 400 as /v1/responses for stateful fields.
 */
export function responsesCountingBody(body: Readonly<Record<string, unknown>>, upstreamModel: string): Record<string, unknown> {
  checkStateless(body);
  const warnings: Warning[] = [];
  return buildChatBody({ body, upstreamModel, stream: false, backend: { streamOptions: false } }, warnings);
}
