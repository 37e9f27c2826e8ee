/**
 * HCM local_reply_config, as Envoy applies it to every local reply before it goes downstream: the first mapper
 * whose filter matches may replace the body (`body`), then formats it (`body_format_override`: json_format or
 * text_format_source, with %LOCAL_REPLY_BODY%, %RESPONSE_CODE% and %RESPONSE_CODE_DETAILS%) and sets its
 * content-type. The filters the generated config uses are supported (status_code_filter, and_filter,
 * or_filter, response_flag_filter, the CEL extension filter over `request.*` and `response.*`); anything else
 * throws, so a config the stand-in cannot honour is noticed instead of ignored.
 * @see https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/local_reply
 */
import { Environment } from '@marcbachmann/cel-js';

type Json = Record<string, unknown>;

export interface LocalReplyFacts {
  readonly status: number;
  readonly details: string;
  readonly body: string;
  readonly path: string;
  readonly method: string;
  /** Response flags (RL, UF, UH ...). */
  readonly flags: readonly string[];
  /** Dynamic metadata, namespace -> key -> value (CEL `metadata.filter_metadata`). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface MappedReply {
  readonly body: string;
  readonly contentType: string | undefined;
}

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const cel = new Environment({ unlistedVariablesAreDyn: true });
const programs = new Map<string, ReturnType<Environment['parse']>>();

function evaluateCel(expression: string, facts: LocalReplyFacts): boolean {
  let program = programs.get(expression);
  if (!program) {
    program = cel.parse(expression);
    programs.set(expression, program);
  }
  const result = program({
    request: { path: facts.path, method: facts.method },
    response: { code: BigInt(facts.status), code_details: facts.details, flags: facts.flags.join(',') },
    metadata: { filter_metadata: facts.metadata },
  });
  return result === true;
}

/** A CEL filter whose expression fails to evaluate (a missing key) does not match, as in Envoy. */
function celMatches(expression: string, facts: LocalReplyFacts): boolean {
  try {
    return evaluateCel(expression, facts);
  } catch {
    return false;
  }
}

function compare(op: unknown, actual: number, expected: number): boolean {
  if (op === 'EQ' || op === undefined) return actual === expected;
  if (op === 'GE') return actual >= expected;
  if (op === 'LE') return actual <= expected;
  throw new Error(`local_reply_config: comparison op ${String(op)} is not supported by the stand-in`);
}

function matches(filter: Json, facts: LocalReplyFacts): boolean {
  if (isRecord(filter.status_code_filter)) {
    const comparison = isRecord(filter.status_code_filter.comparison) ? filter.status_code_filter.comparison : {};
    const value = isRecord(comparison.value) ? Number(comparison.value.default_value) : Number.NaN;
    return compare(comparison.op, facts.status, value);
  }
  if (isRecord(filter.and_filter)) return (filter.and_filter.filters as Json[]).every((inner) => matches(inner, facts));
  if (isRecord(filter.or_filter)) return (filter.or_filter.filters as Json[]).some((inner) => matches(inner, facts));
  if (isRecord(filter.response_flag_filter)) {
    const wanted = (filter.response_flag_filter.flags as string[] | undefined) ?? [];
    return wanted.length === 0 ? facts.flags.length > 0 : wanted.some((flag) => facts.flags.includes(flag));
  }
  if (isRecord(filter.extension_filter) && filter.extension_filter.name === 'envoy.access_loggers.extension_filters.cel') {
    const config = filter.extension_filter.typed_config as Json;
    return celMatches(String(config.expression), facts);
  }
  throw new Error(`local_reply_config: filter ${JSON.stringify(Object.keys(filter))} is not supported by the stand-in`);
}

function substitute(text: string, facts: LocalReplyFacts, body: string): string {
  return text
    .replaceAll('%LOCAL_REPLY_BODY%', body)
    .replaceAll('%RESPONSE_CODE_DETAILS%', facts.details)
    .replaceAll('%RESPONSE_CODE%', String(facts.status));
}

function formatJson(value: unknown, facts: LocalReplyFacts, body: string): unknown {
  if (typeof value === 'string') return substitute(value, facts, body);
  if (Array.isArray(value)) return value.map((entry) => formatJson(entry, facts, body));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, formatJson(entry, facts, body)]));
  return value;
}

/** The body and content-type Envoy sends for a local reply under `config`, or undefined when no mapper matches. */
export function mapLocalReply(config: unknown, facts: LocalReplyFacts): MappedReply | undefined {
  const mappers = isRecord(config) && Array.isArray(config.mappers) ? (config.mappers as Json[]) : [];
  for (const mapper of mappers) {
    if (!isRecord(mapper.filter) || !matches(mapper.filter, facts)) continue;
    const body = isRecord(mapper.body) && typeof mapper.body.inline_string === 'string' ? mapper.body.inline_string : facts.body;
    const format = isRecord(mapper.body_format_override) ? mapper.body_format_override : undefined;
    if (!format) return { body, contentType: undefined };
    const contentType = typeof format.content_type === 'string' ? format.content_type : undefined;
    if (isRecord(format.json_format)) return { body: `${JSON.stringify(formatJson(format.json_format, facts, body))}\n`, contentType: contentType ?? 'application/json' };
    if (isRecord(format.text_format_source) && typeof format.text_format_source.inline_string === 'string') {
      return { body: substitute(format.text_format_source.inline_string, facts, body), contentType: contentType ?? 'text/plain' };
    }
    throw new Error('local_reply_config: body_format_override must be json_format or text_format_source.inline_string in the stand-in');
  }
  return undefined;
}
