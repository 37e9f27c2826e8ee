/**
 * Envoy's ext_proc header mutation (mutation_utils.cc applyHeaderMutations) with the default, empty
 * mutation_rules (mutation_rules.cc Checker). Contract §3.2-3.3:
 * - values are read from raw_value only; `value` is ignored, both non-empty is an error;
 * - `append` unset means overwrite; append_action and keep_empty_value are ignored;
 * - removes first, then sets in order; refused entries are skipped and counted;
 * - bad characters, too many entries or an oversized result fail the whole answer (local reply 500).
 */
import type { HeaderMutation } from '../../src/server/ext-proc-types.js';
import type { HeaderMap } from './header-map.js';
import { bytesToLatin1 } from './proto-values.js';
import type { CounterName } from './types.js';

export type CheckOperation = 'SET' | 'APPEND' | 'REMOVE';
export type CheckResult = 'OK' | 'IGNORE' | 'FAIL';

/** HCM defaults: max_request_headers_kb 60, max headers count 100. */
export const MAX_HEADERS_COUNT = 100;
export const MAX_HEADERS_KB = 60;

const ROUTING_HEADERS = new Set(['host', ':authority', ':method', ':scheme']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PSEUDO = /^:[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function headerNameIsValid(name: string): boolean {
  return name.startsWith(':') ? PSEUDO.test(name) : TOKEN.test(name);
}

export function headerValueIsValid(value: string): boolean {
  return !/[\0\r\n]/.test(value);
}

export interface MutationRules {
  /** A refused mutation fails the answer instead of being skipped. */
  disallowIsError?: boolean;
  /** Allows host, :authority, :method and :scheme. */
  allowAllRouting?: boolean;
  /** Allows x-envoy-* headers. */
  allowEnvoy?: boolean;
}

/** The mutation_rules checker, default rules unless told otherwise. */
export function checkMutation(op: CheckOperation, name: string, value: string, rules: MutationRules = {}): CheckResult {
  const refused: CheckResult = rules.disallowIsError ? 'FAIL' : 'IGNORE';
  if (op === 'REMOVE' && (name.startsWith(':') || name === 'host')) return refused;
  if (!rules.allowAllRouting && ROUTING_HEADERS.has(name)) return refused;
  if (name.startsWith(':') && op === 'APPEND') return refused;
  if (!rules.allowEnvoy && name.startsWith('x-envoy')) return refused;
  if (op !== 'REMOVE' && name === ':status' && !(/^\d+$/.test(value) && Number(value) >= 200)) return refused;
  return 'OK';
}

export interface ApplyOptions {
  /** CONTINUE_AND_REPLACE in a headers answer: ':method' may change whatever the rules say. */
  replacingMessage: boolean;
  /** The direction strips content-length (§4): set_headers entries for it are skipped silently. */
  skipContentLength: boolean;
  count(name: CounterName): void;
  rules?: MutationRules;
}

export type MutationResult = { ok: true } | { ok: false; message: string };

export function applyHeaderMutation(mutation: HeaderMutation, headers: HeaderMap, options: ApplyOptions): MutationResult {
  const removes = mutation.remove_headers ?? [];
  const sets = mutation.set_headers ?? [];
  if (removes.length > MAX_HEADERS_COUNT || sets.length > MAX_HEADERS_COUNT) {
    options.count('rejected_header_mutations');
    return {
      ok: false,
      message: `Header mutation remove header count ${removes.length} or set header count ${sets.length} exceed the HCM header countlimit ${MAX_HEADERS_COUNT}`,
    };
  }
  for (const raw of removes) {
    if (!headerNameIsValid(raw)) {
      options.count('rejected_header_mutations');
      return { ok: false, message: 'Invalid character in remove_headers mutation.' };
    }
    const name = raw.toLowerCase();
    const result = checkMutation('REMOVE', name, '', options.rules);
    if (result === 'OK') headers.remove(name);
    else {
      options.count('rejected_header_mutations');
      if (result === 'FAIL') return { ok: false, message: `Invalid attempt to remove ${name}` };
    }
  }
  for (const option of sets) {
    const header = option.header;
    if (!header) continue;
    const legacyValue = header.value ?? '';
    const rawValue = bytesToLatin1(header.raw_value);
    if (legacyValue !== '' && rawValue !== '') {
      options.count('rejected_header_mutations');
      return { ok: false, message: 'Only one of value or raw_value in the HeaderValue message should be set.' };
    }
    const key = header.key ?? '';
    if (!headerNameIsValid(key) || !headerValueIsValid(rawValue)) {
      options.count('rejected_header_mutations');
      return { ok: false, message: 'Invalid character in set_headers mutation.' };
    }
    const name = key.toLowerCase();
    if (options.skipContentLength && name === 'content-length') continue;
    const append = option.append?.value ?? false;
    const op: CheckOperation = append && headers.has(name) ? 'APPEND' : 'SET';
    let result = checkMutation(op, name, rawValue, options.rules);
    if (options.replacingMessage && name === ':method') result = 'OK';
    if (result === 'OK') {
      if (append) headers.add(name, rawValue);
      else headers.set(name, rawValue);
    } else {
      options.count('rejected_header_mutations');
      if (result === 'FAIL') return { ok: false, message: `Invalid attempt to modify ${name}` };
    }
  }
  if (headers.size > MAX_HEADERS_COUNT || headers.byteSize() > MAX_HEADERS_KB * 1024) {
    options.count('rejected_header_mutations');
    return {
      ok: false,
      message: `Header mutation causes end result header count ${headers.size} or header size ${headers.byteSize()} bytes, exceeding the count limit ${MAX_HEADERS_COUNT} or the size limit ${MAX_HEADERS_KB} kilobytes`,
    };
  }
  return { ok: true };
}
