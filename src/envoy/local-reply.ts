/**
 * HCM local_reply_config: Envoy's own error replies (buffer limit 413, ext_proc failures 500/504, no healthy
 * upstream 503, rate limit 429) get a JSON body in OpenAI's error shape instead of Envoy's plain text.
 * llm-extproc's own replies (details `llm_extproc_*`) and the catch-all 404 (`direct_response`) already carry
 * JSON and are left alone; a CEL access-log filter tells them apart by %RESPONSE_CODE_DETAILS%.
 */
import { RATE_LIMITED_BODY } from './ratelimit.js';
import { typeUrl, type JsonObject } from './types.js';

/** Local replies this service or the route wrote itself. */
const OWN_REPLY = "response.code_details.startsWith('llm_extproc') || response.code_details == 'direct_response'";

function statusRange(low: number, high: number): JsonObject[] {
  const comparison = (op: 'GE' | 'LE', value: number, key: string) => ({
    status_code_filter: { comparison: { op, value: { default_value: value, runtime_key: `llm_extproc.local_reply.${key}` } } },
  });
  return [comparison('GE', low, `min_${low}`), comparison('LE', high, `max_${high}`)];
}

function envoyReplyFilter(low: number, high: number): JsonObject {
  return {
    and_filter: {
      filters: [
        ...statusRange(low, high),
        {
          extension_filter: {
            name: 'envoy.access_loggers.extension_filters.cel',
            typed_config: { '@type': typeUrl('envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter'), expression: `!(${OWN_REPLY})` },
          },
        },
      ],
    },
  };
}

function openAIErrorFormat(type: string): JsonObject {
  return {
    json_format: {
      error: {
        message: 'envoy: %LOCAL_REPLY_BODY% (%RESPONSE_CODE_DETAILS%)',
        // json_format takes strings, numbers, booleans and structs only, so `param` (null) is left out.
        type,
        code: '%RESPONSE_CODE_DETAILS%',
      },
    },
    content_type: 'application/json',
  };
}

export function localReplyConfig(rateLimited: boolean): JsonObject {
  const mappers: JsonObject[] = [];
  if (rateLimited) {
    mappers.push({
      filter: { response_flag_filter: { flags: ['RL'] } },
      body: { inline_string: RATE_LIMITED_BODY },
      body_format_override: { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'application/json' },
    });
  }
  mappers.push({ filter: envoyReplyFilter(400, 499), body_format_override: openAIErrorFormat('invalid_request_error') });
  mappers.push({ filter: envoyReplyFilter(500, 599), body_format_override: openAIErrorFormat('server_error') });
  return { mappers };
}
