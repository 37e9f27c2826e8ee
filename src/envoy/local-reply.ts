/**
 * HCM local_reply_config: Envoy's own error replies (buffer limit 413, ext_proc failures 500/504, no healthy
 * upstream 503, upstream resets and timeouts, rate limit 429) get a JSON body in the client's error shape instead
 * of Envoy's plain text: Anthropic's (`{"type":"error","error":{"type","message"}}`) for Anthropic Messages
 * clients (`/anthropic/...`, see ANTHROPIC_CLIENT), OpenAI's for everyone else. The status is kept and the content-type is application/json.
 * llm-extproc's own replies (details `llm_extproc_*`) and the catch-all 404 (`direct_response`) already carry
 * JSON and are left alone; a CEL access-log filter tells them apart by %RESPONSE_CODE_DETAILS%. Mappers are
 * tried in order; the first that matches applies.
 * @see https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/local_reply
 */
import { anthropicErrorBody, anthropicErrorType } from '../core/errors.js';
import { RATE_LIMITED_BODY, RATE_LIMITED_MESSAGE } from './ratelimit.js';
import { typeUrl, type JsonObject } from './types.js';

/** Local replies this service or the route wrote itself. */
const OWN_REPLY = "response.code_details.startsWith('llm_extproc') || response.code_details == 'direct_response'";
/**
 * Requests of Anthropic Messages clients. ext_proc rewrites `:path` for the backend (and Envoy's CEL `request.path`
 * reads the rewritten header), so the client API the service recorded in the request phase (`client_api` in
 * io.envoy.ai_gateway) decides once it is there; before that (a body over the buffer limit), the path still
 * is the client's. An error in either operand (a missing key) leaves the other to decide.
 */
export const ANTHROPIC_CLIENT =
  "request.path.startsWith('/anthropic/') || metadata.filter_metadata['io.envoy.ai_gateway']['client_api'] == 'anthropic'";
/** Statuses whose Anthropic error type differs from the one of their class (4xx, 5xx). */
const ANTHROPIC_SPECIFIC_STATUSES = [402, 403, 404, 413, 429, 503, 504, 529] as const;

function statusRange(low: number, high: number): JsonObject[] {
  const comparison = (op: 'GE' | 'LE', value: number, key: string) => ({
    status_code_filter: { comparison: { op, value: { default_value: value, runtime_key: `llm_extproc.local_reply.${key}` } } },
  });
  return [comparison('GE', low, `min_${low}`), comparison('LE', high, `max_${high}`)];
}

function celFilter(expression: string): JsonObject {
  return {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: { '@type': typeUrl('envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter'), expression },
    },
  };
}

function envoyReplyFilter(low: number, high: number, anthropic: boolean): JsonObject {
  const expression = anthropic ? `!(${OWN_REPLY}) && (${ANTHROPIC_CLIENT})` : `!(${OWN_REPLY})`;
  return { and_filter: { filters: [...statusRange(low, high), celFilter(expression)] } };
}

const MESSAGE = 'envoy: %LOCAL_REPLY_BODY% (%RESPONSE_CODE_DETAILS%)';

function openAIErrorFormat(type: string): JsonObject {
  return {
    json_format: {
      error: {
        message: MESSAGE,
        // json_format takes strings, numbers, booleans and structs only, so `param` (null) is left out.
        type,
        code: '%RESPONSE_CODE_DETAILS%',
      },
    },
    content_type: 'application/json',
  };
}

function anthropicErrorFormat(status: number): JsonObject {
  return { json_format: { type: 'error', error: { type: anthropicErrorType(status), message: MESSAGE } }, content_type: 'application/json' };
}

/** The 429 body for an Anthropic client whose token budget is spent. */
export const ANTHROPIC_RATE_LIMITED_BODY = anthropicErrorBody({ status: 429, message: RATE_LIMITED_MESSAGE, type: 'rate_limit_error' });

function rateLimitedMapper(body: string, anthropic: boolean): JsonObject {
  const flags: JsonObject = { response_flag_filter: { flags: ['RL'] } };
  return {
    filter: anthropic ? { and_filter: { filters: [flags, celFilter(ANTHROPIC_CLIENT)] } } : flags,
    body: { inline_string: body },
    body_format_override: { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'application/json' },
  };
}

export function localReplyConfig(rateLimited: boolean): JsonObject {
  const mappers: JsonObject[] = [];
  if (rateLimited) mappers.push(rateLimitedMapper(ANTHROPIC_RATE_LIMITED_BODY, true), rateLimitedMapper(RATE_LIMITED_BODY, false));
  for (const status of ANTHROPIC_SPECIFIC_STATUSES) {
    mappers.push({ filter: envoyReplyFilter(status, status, true), body_format_override: anthropicErrorFormat(status) });
  }
  mappers.push({ filter: envoyReplyFilter(400, 499, true), body_format_override: anthropicErrorFormat(400) });
  mappers.push({ filter: envoyReplyFilter(500, 599, true), body_format_override: anthropicErrorFormat(500) });
  mappers.push({ filter: envoyReplyFilter(400, 499, false), body_format_override: openAIErrorFormat('invalid_request_error') });
  mappers.push({ filter: envoyReplyFilter(500, 599, false), body_format_override: openAIErrorFormat('server_error') });
  return { mappers };
}
