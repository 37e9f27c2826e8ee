/**
 * Descriptor building of Envoy's rate limit filter from RateLimitPerRoute policies (snake_case proto JSON),
 * as in source/extensions/filters/common/ratelimit_config/ratelimit_config.cc and router_ratelimit.cc:
 * - actions append entries in order; an action that cannot produce its entry (missing header or metadata
 *   without default_value and without skip_if_absent) drops the whole descriptor; a skipped action adds nothing;
 * - the metadata action reads a STRING value only (other kinds read as empty);
 * - hits_addend: `number` (<= 1e9) or `format` with exactly one substitution, here %DYNAMIC_METADATA(ns:key)%;
 *   a number or a numeric string is truncated to an integer; missing, non-numeric, negative or > 1e9 drops
 *   the descriptor ("Invalid hits_addend");
 * - `stage`, `disable_key`, `limit` and the deprecated `dynamic_metadata` action are rejected in
 *   RateLimitPerRoute, like any action this stand-in does not implement.
 */
import type { DynamicMetadata } from '../hooks.js';
import type { DescriptorEntry, RateLimitDescriptor } from './service.js';

const MAX_HITS_ADDEND = 1_000_000_000;

export class RateLimitPolicyError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(object: Json, field: string): string {
  const value = object[field];
  return typeof value === 'string' ? value : '';
}

/** What an action sees of the request. */
export interface DescriptorInput {
  readonly headers: ReadonlyMap<string, string>;
  readonly metadata: DynamicMetadata;
}

/** An entry, `skip` (add nothing, keep the descriptor) or `drop` (no descriptor). */
type ActionResult = DescriptorEntry | 'skip' | 'drop';
type Action = (input: DescriptorInput) => ActionResult;
type HitsAddend = { kind: 'none' } | { kind: 'number'; value: number } | { kind: 'metadata'; path: readonly string[] };

export interface CompiledPolicy {
  readonly applyOnStreamDone: boolean;
  readonly actions: readonly Action[];
  readonly hitsAddend: HitsAddend;
}

/** Path segments under the dynamic metadata: [namespace, key, ...]. */
function metadataValue(metadata: DynamicMetadata, path: readonly string[]): unknown {
  const [namespace, ...keys] = path;
  let current: unknown = namespace === undefined ? undefined : metadata[namespace];
  for (const key of keys) current = isObject(current) ? current[key] : undefined;
  return current;
}

function compileRequestHeaders(spec: Json): Action {
  const headerName = stringField(spec, 'header_name').toLowerCase();
  const descriptorKey = stringField(spec, 'descriptor_key');
  if (!headerName || !descriptorKey) throw new RateLimitPolicyError('request_headers needs header_name and descriptor_key');
  const skipIfAbsent = spec.skip_if_absent === true;
  return ({ headers }) => {
    const value = headers.get(headerName);
    if (value === undefined) return skipIfAbsent ? 'skip' : 'drop';
    return { key: descriptorKey, value };
  };
}

function compileGenericKey(spec: Json): Action {
  const entry = { key: stringField(spec, 'descriptor_key') || 'generic_key', value: stringField(spec, 'descriptor_value') };
  if (!entry.value) throw new RateLimitPolicyError('generic_key needs descriptor_value');
  return () => entry;
}

function compileMetadata(spec: Json): Action {
  const metadataKey = isObject(spec.metadata_key) ? spec.metadata_key : {};
  const namespace = stringField(metadataKey, 'key');
  const path = Array.isArray(metadataKey.path) ? metadataKey.path.map((segment) => (isObject(segment) ? stringField(segment, 'key') : '')) : [];
  const descriptorKey = stringField(spec, 'descriptor_key');
  if (!namespace || path.length === 0 || path.includes('') || !descriptorKey) {
    throw new RateLimitPolicyError('metadata needs descriptor_key and metadata_key {key, path: [{key}]}');
  }
  if (spec.source !== undefined && spec.source !== 'DYNAMIC') throw new RateLimitPolicyError('metadata source other than DYNAMIC is not supported');
  const defaultValue = stringField(spec, 'default_value');
  const skipIfAbsent = spec.skip_if_absent === true;
  return ({ metadata }) => {
    const value = metadataValue(metadata, [namespace, ...path]);
    if (typeof value === 'string' && value !== '') return { key: descriptorKey, value };
    if (defaultValue) return { key: descriptorKey, value: defaultValue };
    return skipIfAbsent ? 'skip' : 'drop';
  };
}

function headerMatches(headers: ReadonlyMap<string, string>, matcher: Json): boolean {
  const value = headers.get(stringField(matcher, 'name').toLowerCase());
  const stringMatch = isObject(matcher.string_match) ? matcher.string_match : undefined;
  let matched: boolean;
  if (matcher.present_match !== undefined) matched = (value !== undefined) === (matcher.present_match !== false);
  else if (value === undefined) matched = false;
  else if (stringMatch?.exact !== undefined || matcher.exact_match !== undefined) matched = value === String(stringMatch?.exact ?? matcher.exact_match);
  else if (stringMatch?.prefix !== undefined || matcher.prefix_match !== undefined) matched = value.startsWith(String(stringMatch?.prefix ?? matcher.prefix_match));
  else if (stringMatch?.suffix !== undefined || matcher.suffix_match !== undefined) matched = value.endsWith(String(stringMatch?.suffix ?? matcher.suffix_match));
  else if (stringMatch?.contains !== undefined || matcher.contains_match !== undefined) matched = value.includes(String(stringMatch?.contains ?? matcher.contains_match));
  else throw new RateLimitPolicyError('header_value_match: unsupported header matcher');
  return matcher.invert_match === true ? !matched : matched;
}

function compileHeaderValueMatch(spec: Json): Action {
  const descriptorValue = stringField(spec, 'descriptor_value');
  const descriptorKey = stringField(spec, 'descriptor_key') || 'header_match';
  const expectMatch = spec.expect_match !== false;
  const matchers = Array.isArray(spec.headers) ? spec.headers.filter(isObject) : [];
  if (!descriptorValue || matchers.length === 0) throw new RateLimitPolicyError('header_value_match needs descriptor_value and headers');
  // Validate matcher kinds now, so a bad config fails at construction rather than per request.
  for (const matcher of matchers) headerMatches(new Map([[stringField(matcher, 'name').toLowerCase(), '']]), matcher);
  return ({ headers }) => {
    const all = matchers.every((matcher) => headerMatches(headers, matcher));
    return all === expectMatch ? { key: descriptorKey, value: descriptorValue } : 'drop';
  };
}

const ACTION_COMPILERS: Record<string, (spec: Json) => Action> = {
  request_headers: compileRequestHeaders,
  generic_key: compileGenericKey,
  metadata: compileMetadata,
  header_value_match: compileHeaderValueMatch,
};

const FORMAT = /^%DYNAMIC_METADATA\(([^()%]+)\)(?::\d+)?%$/;

function compileHitsAddend(spec: unknown): HitsAddend {
  if (spec === undefined) return { kind: 'none' };
  if (!isObject(spec)) throw new RateLimitPolicyError('hits_addend must be an object');
  const format = stringField(spec, 'format');
  if (format) {
    if (spec.number !== undefined) throw new RateLimitPolicyError('hits_addend must contain either a format or a number');
    const match = FORMAT.exec(format);
    if (!match?.[1]) throw new RateLimitPolicyError(`hits_addend format must contain exactly one substitution (supported: %DYNAMIC_METADATA(ns:key)%), got ${format}`);
    return { kind: 'metadata', path: match[1].split(':') };
  }
  const number = spec.number;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > MAX_HITS_ADDEND) {
    throw new RateLimitPolicyError('hits_addend must contain either a format or a number (0..1e9)');
  }
  return { kind: 'number', value: number };
}

/** Compiles one RateLimit entry of RateLimitPerRoute.rate_limits; throws RateLimitPolicyError as Envoy rejects config. */
export function compilePolicy(spec: unknown): CompiledPolicy {
  if (!isObject(spec)) throw new RateLimitPolicyError('rate_limits entries must be objects');
  if (spec.stage !== undefined || spec.disable_key !== undefined) throw new RateLimitPolicyError("'stage' field and 'disable_key' field are not supported");
  if (spec.limit !== undefined) throw new RateLimitPolicyError("'limit' field is not supported");
  const actions = (Array.isArray(spec.actions) ? spec.actions : []).map((action): Action => {
    const [kind, ...rest] = isObject(action) ? Object.keys(action) : [];
    const compiler = kind === undefined ? undefined : ACTION_COMPILERS[kind];
    if (!compiler || rest.length > 0 || !isObject(action)) throw new RateLimitPolicyError(`Unsupported rate limit action: ${kind ?? 'none'}`);
    const body = action[kind as string];
    return compiler(isObject(body) ? body : {});
  });
  if (actions.length === 0) throw new RateLimitPolicyError('rate_limits entries need at least one action');
  return { applyOnStreamDone: spec.apply_on_stream_done === true, actions, hitsAddend: compileHitsAddend(spec.hits_addend) };
}

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The hits_addend value, undefined when none is configured, or 'invalid' (drop the descriptor). */
function resolveHits(hits: HitsAddend, metadata: DynamicMetadata): number | undefined | 'invalid' {
  if (hits.kind === 'none') return undefined;
  if (hits.kind === 'number') return hits.value;
  const value = metadataValue(metadata, hits.path);
  let number: number;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && NUMERIC.test(value)) number = Number(value);
  else return 'invalid';
  if (!Number.isFinite(number) || number < 0 || number > MAX_HITS_ADDEND) return 'invalid';
  return Math.trunc(number);
}

/** Builds the descriptor of one policy, or undefined when it is dropped. */
export function buildDescriptor(policy: CompiledPolicy, input: DescriptorInput): RateLimitDescriptor | undefined {
  const entries: DescriptorEntry[] = [];
  for (const action of policy.actions) {
    const result = action(input);
    if (result === 'drop') return undefined;
    if (result !== 'skip' && result.key !== '') entries.push(result);
  }
  const hits = resolveHits(policy.hitsAddend, input.metadata);
  if (hits === 'invalid') return undefined;
  return hits === undefined ? { entries } : { entries, hitsAddend: hits };
}
