/**
 * Loads a config file: YAML -> schema validation -> cross-reference checks -> secrets resolved and referenced files
 * checked. Every problem is reported with its path, all in one pass; nothing throws for bad input.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { ZodIssue } from 'zod';
import { asArray, asString, isRecord, safeParseJson } from '../core/json.js';
import {
  AuthSchema,
  ConfigSchema,
  SCHEMAS,
  SecretSchema,
  type BackendConfig,
  type ConfigFile,
  type CostConfig,
  type ModelConfig,
} from './schema.js';
import { Secret } from './secret.js';

export interface ResolvedAuth {
  apiKey?: Secret;
  anthropicApiKey?: Secret;
  azureApiKey?: Secret;
  azureAccessToken?: Secret;
  googleApiKey?: Secret;
  aws?: { region: string; accessKeyId?: Secret; secretAccessKey?: Secret; sessionToken?: Secret };
  gcp?: { projectId: string; region: string; accessToken?: Secret; credentialsFile?: string };
}

export interface ResolvedBackend extends BackendConfig {
  credentials: ResolvedAuth | undefined;
  /** The endpoint's host[:port], parsed once at load (SigV4 signs it). */
  host: string;
}

export interface RuntimeConfig {
  readonly file: ConfigFile;
  readonly backends: ReadonlyMap<string, ResolvedBackend>;
  readonly models: ReadonlyMap<string, ModelConfig>;
  readonly costs: readonly CostConfig[];
  /** Where the config came from (for logs). */
  readonly source: string;
}

export type LoadResult = { ok: true; config: RuntimeConfig } | { ok: false; errors: string[] };

/**
 * Checks of what the schema cannot express (CEL expressions, for one). The composition root
 * (src/components.ts) lists them; every caller of parseConfig passes that list.
 */
export type ConfigValidator = (file: ConfigFile) => string[];

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(root)';
}

/** The raw value at a zod issue's path (undefined when absent). */
function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let value = raw;
  for (const part of path) {
    if (Array.isArray(value) && typeof part === 'number') value = value[part];
    else if (isRecord(value) && typeof part === 'string') value = value[part];
    else return undefined;
  }
  return value;
}

/**
 * `, got <value>` for a scalar the message does not already describe, so a message says what was wrong with what
 * was written. Nothing under `auth` or `headers` is ever shown: those values may be credentials.
 */
function gotSuffix(issue: ZodIssue, raw: unknown): string {
  if (issue.code === 'invalid_enum_value' || issue.code === 'unrecognized_keys' || issue.code === 'invalid_union') return '';
  if (issue.code === 'invalid_type' && /^(Expected |Required$)/.test(issue.message)) return '';
  if (issue.path.some((part) => part === 'auth' || part === 'headers')) return '';
  const value = valueAt(raw, issue.path);
  if (value === undefined || (typeof value === 'object' && value !== null)) return '';
  const shown = JSON.stringify(value);
  return `, got ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}`;
}

function formatIssue(issue: ZodIssue, raw: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
  }
  if (issue.code === 'invalid_union') {
    const unknownKeys = new Set(
      issue.unionErrors.flatMap((error) => error.issues.flatMap((inner) => (inner.code === 'unrecognized_keys' ? inner.keys : []))),
    );
    const detail = unknownKeys.size > 0 ? `unknown key ${[...unknownKeys].join(', ')}` : (issue.unionErrors[0]?.issues[0]?.message ?? 'invalid');
    return [`${formatPath(issue.path)}: must be one of {env: NAME} | {file: PATH} | {value: "..."} (${detail})`];
  }
  return [`${formatPath(issue.path)}: ${issue.message}${gotSuffix(issue, raw)}`];
}

export interface ParseOptions {
  /**
   * 'resolve' (the default): secrets are read and referenced files checked; a missing one is an error.
   * 'skip': neither; every secret becomes a placeholder. For checking a config's shape where its secrets are not
   * (CI, `validate --skip-secrets`) and for generating Envoy config, which never sees credentials.
   */
  readonly secrets?: 'resolve' | 'skip';
}

/** What a secret becomes with `secrets: 'skip'`. */
const PLACEHOLDER_SECRET = 'secret-not-resolved';

/**
 * Parses and validates config text. Secrets are resolved; a missing one is an error.
 *
 * Every error comes in one pass: the cross-reference checks (duplicate names, unknown backends and models, auth
 * that does not fit the schema), the secrets and the referenced files are checked on whatever is well-formed in
 * the document even when the schema rejected part of it, and the validators run on every section that passed.
 */
export async function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv,
  validators: readonly ConfigValidator[],
  options: ParseOptions = {},
): Promise<LoadResult> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, errors: document.errors.map((error) => `${source}: YAML: ${(error.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`) };
  }
  const raw: unknown = document.toJS() ?? {};
  const parsed = ConfigSchema.safeParse(raw);
  const errors: string[] = parsed.success ? [] : parsed.error.issues.flatMap((issue) => formatIssue(issue, raw));
  // After a schema failure the checks below read the raw document: each looks only at fields of the right type.
  const view: unknown = parsed.success ? parsed.data : raw;
  const skipSecrets = options.secrets === 'skip';

  const backends = new Map<string, ResolvedBackend>();
  const backendNames = new Set<string>();
  for (const [index, backend] of recordsOf(view, 'backends')) {
    const name = asString(backend['name']);
    if (name !== undefined && backendNames.has(name)) errors.push(`backends[${index}].name: duplicate backend name "${name}"`);
    if (name !== undefined) backendNames.add(name);
    const credentials = await resolveAuth(backend['auth'], `backends[${index}].auth`, env, errors, skipSecrets);
    const authKinds = isRecord(backend['auth']) ? Object.keys(backend['auth']).filter((key) => AUTH_KINDS.has(key)) : [];
    if (authKinds.length > 1) errors.push(`backends[${index}].auth: at most one auth method, got ${authKinds.join(', ')}`);
    checkSchemaAuth(backend, index, errors);
    if (parsed.success) {
      const typed = parsed.data.backends[index] as BackendConfig;
      const host = URL.canParse(typed.endpoint) ? new URL(typed.endpoint).host : undefined;
      if (host === undefined) errors.push(`backends[${index}].endpoint: not a valid URL`);
      else backends.set(typed.name, { ...typed, credentials, host });
    }
  }

  const modelNames = new Set<string>();
  for (const [index, model] of recordsOf(view, 'models')) {
    const name = asString(model['name']);
    if (name !== undefined && modelNames.has(name)) errors.push(`models[${index}].name: duplicate model name "${name}"`);
    if (name !== undefined) modelNames.add(name);
    const refs = asArray(model['backends']) ?? [];
    for (const [refIndex, ref] of refs.entries()) {
      const backend = isRecord(ref) ? asString(ref['backend']) : undefined;
      if (backend !== undefined && !backendNames.has(backend)) {
        errors.push(`models[${index}].backends[${refIndex}].backend: unknown backend "${backend}"`);
      }
    }
    if (refs.length > 0 && refs.every((ref) => isRecord(ref) && ref['weight'] === 0)) {
      errors.push(`models[${index}].backends: every weight is 0, so no backend can be chosen`);
    }
  }

  const costKeys = new Set<string>();
  for (const [index, cost] of recordsOf(view, 'costs')) {
    const strings = (key: string) => (asArray(cost[key]) ?? []).filter((item): item is string => typeof item === 'string');
    const metadataKey = asString(cost['metadataKey']);
    if (metadataKey !== undefined) {
      const scopeKey = `${metadataKey}|${strings('models').join(',')}|${strings('backends').join(',')}`;
      if (costKeys.has(scopeKey)) errors.push(`costs[${index}].metadataKey: duplicate cost "${metadataKey}" for the same scope`);
      costKeys.add(scopeKey);
    }
    if (cost['type'] === 'CEL' && !cost['cel']) errors.push(`costs[${index}].cel: required when type is CEL`);
    if (typeof cost['type'] === 'string' && cost['type'] !== 'CEL' && cost['cel']) errors.push(`costs[${index}].cel: only allowed when type is CEL`);
    for (const [modelIndex, name] of (asArray(cost['models']) ?? []).entries()) {
      if (typeof name === 'string' && !modelNames.has(name)) errors.push(`costs[${index}].models[${modelIndex}]: unknown model "${name}"`);
    }
    for (const [backendIndex, name] of (asArray(cost['backends']) ?? []).entries()) {
      if (typeof name === 'string' && !backendNames.has(name)) errors.push(`costs[${index}].backends[${backendIndex}]: unknown backend "${name}"`);
    }
  }
  const envoy = isRecord(view) && isRecord(view['envoy']) ? view['envoy'] : undefined;
  if (envoy?.['attemptResponseHeaders'] === true && envoy['upstreamFilter'] === false) {
    errors.push('envoy.attemptResponseHeaders: needs envoy.upstreamFilter: true (router-only mode has no per-attempt filter)');
  }
  const checked = parsed.success ? parsed.data : sectionsThatParse(raw);
  for (const validator of validators) errors.push(...validator(checked));

  if (errors.length > 0 || !parsed.success) return { ok: false, errors };
  const file = parsed.data;
  const models = new Map<string, ModelConfig>(file.models.map((model) => [model.name, model]));
  return { ok: true, config: { file, backends, models, costs: file.costs, source } };
}

const AUTH_KINDS = new Set(Object.keys(AuthSchema.shape));

/** The entries of a list section that are objects, with their index (nothing for a section of the wrong type). */
function recordsOf(view: unknown, section: string): Array<[number, Record<string, unknown>]> {
  const list = isRecord(view) ? asArray(view[section]) : undefined;
  return (list ?? []).flatMap((item, index): Array<[number, Record<string, unknown>]> => (isRecord(item) ? [[index, item]] : []));
}

/** A ConfigFile of the sections that pass the schema on their own; the others take their defaults. */
function sectionsThatParse(raw: unknown): ConfigFile {
  const input: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(ConfigSchema.shape)) {
    const value = isRecord(raw) ? raw[key] : undefined;
    if (value !== undefined && schema.safeParse(value).success) input[key] = value;
  }
  return ConfigSchema.parse(input);
}

function checkSchemaAuth(backend: Record<string, unknown>, index: number, errors: string[]): void {
  const schema = asString(backend['schema']);
  if (schema === undefined || !(SCHEMAS as readonly string[]).includes(schema)) return;
  const auth = isRecord(backend['auth']) ? backend['auth'] : undefined;
  const aws = isRecord(auth?.['aws']) ? auth['aws'] : undefined;
  const gcp = isRecord(auth?.['gcp']) ? auth['gcp'] : undefined;
  const at = `backends[${index}]`;
  const isAws = schema === 'AWSBedrock' || schema === 'AWSAnthropic';
  const isGcp = schema === 'GCPVertexAI' || schema === 'GCPAnthropic';
  if (isAws && !aws) errors.push(`${at}.auth.aws: required for schema ${schema} (requests are SigV4-signed)`);
  if (isGcp && !gcp) errors.push(`${at}.auth.gcp: required for schema ${schema} (it gives the project and region)`);
  if (aws && !isAws) errors.push(`${at}.auth.aws: only valid for AWSBedrock and AWSAnthropic`);
  if (gcp && !isGcp) errors.push(`${at}.auth.gcp: only valid for GCPVertexAI and GCPAnthropic`);
  if (aws && Boolean(aws['accessKeyId']) !== Boolean(aws['secretAccessKey'])) {
    errors.push(`${at}.auth.aws: accessKeyId and secretAccessKey go together`);
  }
  if (gcp && gcp['accessToken'] && gcp['credentialsFile']) {
    errors.push(`${at}.auth.gcp: give accessToken or credentialsFile, not both`);
  }
}

/**
 * The backend's credentials. Each secret reference of the right shape is resolved (or, skipping secrets, replaced
 * by a placeholder); a malformed one was already reported by the schema.
 */
async function resolveAuth(
  auth: unknown,
  at: string,
  env: NodeJS.ProcessEnv,
  errors: string[],
  skipSecrets: boolean,
): Promise<ResolvedAuth | undefined> {
  if (!isRecord(auth)) return undefined;
  const secret = async (value: unknown, path: string): Promise<Secret | undefined> => {
    const ref = SecretSchema.safeParse(value);
    if (!ref.success) return undefined;
    return skipSecrets ? Secret.of(PLACEHOLDER_SECRET) : Secret.resolve(ref.data, `${at}.${path}`, env, errors);
  };
  const resolved: ResolvedAuth = {
    apiKey: await secret(auth['apiKey'], 'apiKey'),
    anthropicApiKey: await secret(auth['anthropicApiKey'], 'anthropicApiKey'),
    azureApiKey: await secret(auth['azureApiKey'], 'azureApiKey'),
    azureAccessToken: await secret(auth['azureAccessToken'], 'azureAccessToken'),
    googleApiKey: await secret(auth['googleApiKey'], 'googleApiKey'),
  };
  const aws = auth['aws'];
  if (isRecord(aws)) {
    resolved.aws = {
      region: asString(aws['region']) ?? '',
      accessKeyId: await secret(aws['accessKeyId'], 'aws.accessKeyId'),
      secretAccessKey: await secret(aws['secretAccessKey'], 'aws.secretAccessKey'),
      sessionToken: await secret(aws['sessionToken'], 'aws.sessionToken'),
    };
  }
  const gcp = auth['gcp'];
  if (isRecord(gcp)) {
    const credentialsFile = asString(gcp['credentialsFile']) || undefined;
    if (credentialsFile !== undefined && !skipSecrets) await checkCredentialsFile(credentialsFile, `${at}.gcp.credentialsFile`, errors);
    resolved.gcp = {
      projectId: asString(gcp['projectId']) ?? '',
      region: asString(gcp['region']) ?? '',
      accessToken: await secret(gcp['accessToken'], 'gcp.accessToken'),
      credentialsFile,
    };
  }
  return resolved;
}

/** Every modelNameOverride the config's models give their backends: names an upstream may receive or report. */
export function modelNameOverrides(config: Pick<RuntimeConfig, 'models'>): string[] {
  const overrides: string[] = [];
  for (const model of config.models.values()) {
    for (const ref of model.backends) if (ref.modelNameOverride !== undefined) overrides.push(ref.modelNameOverride);
  }
  return overrides;
}

/** The `{file: PATH}` secrets of a loaded config. */
export function fileSecretsOf(config: RuntimeConfig): Secret[] {
  const secrets: Secret[] = [];
  for (const backend of config.backends.values()) {
    const auth = backend.credentials;
    if (!auth) continue;
    const all = [auth.apiKey, auth.anthropicApiKey, auth.azureApiKey, auth.azureAccessToken, auth.googleApiKey, auth.aws?.accessKeyId, auth.aws?.secretAccessKey, auth.aws?.sessionToken, auth.gcp?.accessToken];
    for (const secret of all) if (secret?.file) secrets.push(secret);
  }
  return secrets;
}

/**
 * The files config text names as `{file: PATH}` secrets, valid config or not (so a reload can follow a secret
 * file that does not exist yet). Text that is not YAML names none.
 */
export function secretFilesIn(text: string): string[] {
  const document = parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) return [];
  const files = new Set<string>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 16 || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    if (typeof record['file'] === 'string' && record['file'] !== '') files.add(record['file']);
    for (const item of Object.values(record)) visit(item, depth + 1);
  };
  try {
    visit(document.toJS() as unknown, 0);
  } catch {
    // too many aliases, for one: such a config is rejected anyway
  }
  return [...files];
}

/** A GCP credentials file must exist, be readable and hold a JSON object (a service-account or external-account key). */
async function checkCredentialsFile(path: string, at: string, errors: string[]): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    errors.push(`${at}: cannot read credentials file ${path} (${fileErrorDetail(error)})`);
    return;
  }
  const json = safeParseJson(text);
  if (!json.ok || !isRecord(json.value)) errors.push(`${at}: ${path} is not a JSON credentials file (a service-account key or an external-account config)`);
}

/** "ENOENT: no such file" and the like, for messages about a file the config names. */
export function fileErrorDetail(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'ENOENT: no such file';
    case 'EACCES':
    case 'EPERM':
      return `${code}: permission denied`;
    case 'EISDIR':
      return 'EISDIR: it is a directory';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

/** Why a config file cannot be read, and what to do about it. */
export function configReadError(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOENT'
      ? '; give an existing file with --config FILE or LLM_EXTPROC_CONFIG (config/default.yaml is a starting point)'
      : code === 'EACCES' || code === 'EPERM'
        ? '; make it readable by the user running llm-extproc'
        : code === 'EISDIR'
          ? '; give the config file inside it'
          : '';
  return `${path}: cannot read config (${fileErrorDetail(error)})${hint}`;
}

/** Reads and parses a config file. */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv,
  validators: readonly ConfigValidator[],
  options: ParseOptions = {},
): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [configReadError(path, error)] };
  }
  return parseConfig(text, path, env, validators, options);
}
