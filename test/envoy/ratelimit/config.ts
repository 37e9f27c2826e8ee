/**
 * envoyproxy/ratelimit's YAML config and limit lookup (src/config/config_impl.go), for the in-process service.
 *
 * A config file has a `domain` and a tree of `descriptors` ({key, value?, rate_limit?, descriptors?,
 * shadow_mode?, detailed_metric?}). Unknown YAML keys and bad units are load errors, as in the service.
 * Lookup walks a request descriptor's entries: at each level `key_value` first, then a wildcard value
 * (`prefix*`), then the bare `key` (any value). A limit applies only when found at the request's LAST entry.
 */
import { parseAllDocuments } from 'yaml';

export const UNIT_SECONDS = {
  SECOND: 1,
  MINUTE: 60,
  HOUR: 3600,
  DAY: 86400,
  WEEK: 604800,
  MONTH: 2592000,
  YEAR: 31536000,
} as const;
export type RateLimitUnit = keyof typeof UNIT_SECONDS;

export interface ConfiguredLimit {
  readonly requestsPerUnit: number;
  readonly unit: RateLimitUnit;
  readonly unlimited: boolean;
  readonly shadowMode: boolean;
  readonly name: string | undefined;
  /** domain.key_value.key... : the stats key of this limit. */
  readonly fullKey: string;
}

interface DescriptorNode {
  readonly children: Map<string, DescriptorNode>;
  readonly wildcardKeys: string[];
  readonly limit: ConfiguredLimit | undefined;
}

const VALID_KEYS = new Set([
  'domain',
  'key',
  'value',
  'descriptors',
  'rate_limit',
  'unit',
  'requests_per_unit',
  'unlimited',
  'shadow_mode',
  'name',
  'replaces',
  'detailed_metric',
]);

export class RateLimitConfigError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateKeys(value: unknown, source: string): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (!isObject(item)) throw new RateLimitConfigError(`${source}: config error, yaml file contains list of type other than map`);
      validateKeys(item, source);
    }
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (!VALID_KEYS.has(key)) throw new RateLimitConfigError(`${source}: config error, unknown key '${key}'`);
    validateKeys(child, source);
  }
}

function newNode(limit: ConfiguredLimit | undefined): DescriptorNode {
  return { children: new Map(), wildcardKeys: [], limit };
}

function parseLimit(raw: Record<string, unknown>, shadowMode: boolean, fullKey: string, source: string): ConfiguredLimit {
  const unlimited = raw.unlimited === true;
  const unitText = typeof raw.unit === 'string' ? raw.unit.toUpperCase() : '';
  const validUnit = unitText in UNIT_SECONDS;
  if (unlimited && validUnit) throw new RateLimitConfigError(`${source}: should not specify rate limit unit when unlimited`);
  if (!unlimited && !validUnit) throw new RateLimitConfigError(`${source}: invalid rate limit unit '${String(raw.unit ?? '')}'`);
  const requests = raw.requests_per_unit ?? 0;
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 0 || requests > 0xffffffff) {
    throw new RateLimitConfigError(`${source}: requests_per_unit must be a uint32`);
  }
  return {
    requestsPerUnit: requests,
    unit: (validUnit ? unitText : 'SECOND') as RateLimitUnit,
    unlimited,
    shadowMode,
    name: typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined,
    fullKey,
  };
}

function loadDescriptors(parent: DescriptorNode, parentKey: string, descriptors: unknown, source: string): void {
  if (descriptors === undefined || descriptors === null) return;
  if (!Array.isArray(descriptors)) throw new RateLimitConfigError(`${source}: descriptors must be a list`);
  for (const raw of descriptors) {
    if (!isObject(raw) || typeof raw.key !== 'string' || raw.key === '') {
      throw new RateLimitConfigError(`${source}: descriptor has empty key`);
    }
    const value = typeof raw.value === 'string' ? raw.value : raw.value === undefined ? '' : String(raw.value);
    const finalKey = value === '' ? raw.key : `${raw.key}_${value}`;
    const fullKey = parentKey + finalKey;
    if (parent.children.has(finalKey)) throw new RateLimitConfigError(`${source}: duplicate descriptor composite key '${fullKey}'`);
    const limit = isObject(raw.rate_limit) ? parseLimit(raw.rate_limit, raw.shadow_mode === true, fullKey, source) : undefined;
    const node = newNode(limit);
    loadDescriptors(node, `${fullKey}.`, raw.descriptors, source);
    parent.children.set(finalKey, node);
    if (finalKey.endsWith('*')) parent.wildcardKeys.push(finalKey);
  }
}

/** The loaded config of one service: domain -> descriptor tree. */
export class RateLimitConfig {
  private readonly domains = new Map<string, DescriptorNode>();

  /** Loads one or more YAML config files (one domain per YAML document). Throws RateLimitConfigError. */
  static fromYaml(texts: string | readonly string[], mergeDomainConfigs = false): RateLimitConfig {
    const config = new RateLimitConfig();
    for (const [index, text] of (typeof texts === 'string' ? [texts] : texts).entries()) {
      for (const document of parseAllDocuments(text)) {
        const source = `config[${index}]`;
        if ('errors' in document && document.errors.length > 0) {
          throw new RateLimitConfigError(`${source}: error loading config file: ${document.errors[0]?.message ?? ''}`);
        }
        const root: unknown = document.toJS();
        if (root === null || root === undefined) continue;
        validateKeys(root, source);
        if (!isObject(root)) throw new RateLimitConfigError(`${source}: config file must be a map`);
        config.load(root, source, mergeDomainConfigs);
      }
    }
    return config;
  }

  private load(root: Record<string, unknown>, source: string, merge: boolean): void {
    const domain = typeof root.domain === 'string' ? root.domain : '';
    if (domain === '') throw new RateLimitConfigError(`${source}: config file cannot have empty domain`);
    let node = this.domains.get(domain);
    if (node && !merge) throw new RateLimitConfigError(`${source}: duplicate domain '${domain}' in config file`);
    if (!node) {
      node = newNode(undefined);
      this.domains.set(domain, node);
    }
    loadDescriptors(node, `${domain}.`, root.descriptors, source);
  }

  /** The limit for a request descriptor, or undefined (then nothing is counted for it). */
  getLimit(domain: string, entries: readonly { key: string; value: string }[]): ConfiguredLimit | undefined {
    const root = this.domains.get(domain);
    if (!root) return undefined;
    let level: DescriptorNode = root;
    let found: ConfiguredLimit | undefined;
    for (const [index, entry] of entries.entries()) {
      const exactKey = `${entry.key}_${entry.value}`;
      let next: DescriptorNode | undefined = level.children.get(exactKey);
      if (!next) {
        const wildcard = level.wildcardKeys.find((key) => exactKey.startsWith(key.slice(0, -1)));
        if (wildcard) next = level.children.get(wildcard);
      }
      next ??= level.children.get(entry.key);
      if (next?.limit && index === entries.length - 1) found = next.limit;
      if (!next || next.children.size === 0) break;
      level = next;
    }
    return found;
  }
}
