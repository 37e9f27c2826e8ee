/**
 * Loads a config file: YAML -> schema validation -> cross-reference checks -> secrets resolved.
 * Every problem is reported with its path; nothing throws for bad input.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { ZodIssue } from 'zod';
import {
  ConfigSchema,
  type BackendConfig,
  type ConfigFile,
  type CostConfig,
  type ModelConfig,
  type SecretRef,
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

function formatIssue(issue: ZodIssue): string[] {
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
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/** Parses and validates config text. Secrets are resolved; a missing one is an error. */
export async function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv,
  validators: readonly ConfigValidator[],
): Promise<LoadResult> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, errors: document.errors.map((error) => `${source}: YAML: ${(error.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`) };
  }
  const raw: unknown = document.toJS() ?? {};
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.flatMap(formatIssue) };
  const file = parsed.data;
  const errors: string[] = [];

  const backends = new Map<string, ResolvedBackend>();
  for (const [index, backend] of file.backends.entries()) {
    if (backends.has(backend.name)) errors.push(`backends[${index}].name: duplicate backend name "${backend.name}"`);
    const credentials = await resolveAuth(backend, `backends[${index}].auth`, env, errors);
    backends.set(backend.name, { ...backend, credentials });
    const authKinds = backend.auth ? Object.keys(backend.auth) : [];
    if (authKinds.length > 1) errors.push(`backends[${index}].auth: at most one auth method, got ${authKinds.join(', ')}`);
    checkSchemaAuth(backend, index, errors);
  }

  const models = new Map<string, ModelConfig>();
  for (const [index, model] of file.models.entries()) {
    if (models.has(model.name)) errors.push(`models[${index}].name: duplicate model name "${model.name}"`);
    models.set(model.name, model);
    for (const [refIndex, ref] of model.backends.entries()) {
      if (!backends.has(ref.backend)) {
        errors.push(`models[${index}].backends[${refIndex}].backend: unknown backend "${ref.backend}"`);
      }
    }
    if (model.backends.every((ref) => ref.weight === 0)) {
      errors.push(`models[${index}].backends: every weight is 0, so no backend can be chosen`);
    }
  }

  const costKeys = new Set<string>();
  for (const [index, cost] of file.costs.entries()) {
    const scopeKey = `${cost.metadataKey}|${(cost.models ?? []).join(',')}|${(cost.backends ?? []).join(',')}`;
    if (costKeys.has(scopeKey)) errors.push(`costs[${index}].metadataKey: duplicate cost "${cost.metadataKey}" for the same scope`);
    costKeys.add(scopeKey);
    if (cost.type === 'CEL' && !cost.cel) errors.push(`costs[${index}].cel: required when type is CEL`);
    if (cost.type !== 'CEL' && cost.cel) errors.push(`costs[${index}].cel: only allowed when type is CEL`);
    for (const [modelIndex, name] of (cost.models ?? []).entries()) {
      if (!models.has(name)) errors.push(`costs[${index}].models[${modelIndex}]: unknown model "${name}"`);
    }
    for (const [backendIndex, name] of (cost.backends ?? []).entries()) {
      if (!backends.has(name)) errors.push(`costs[${index}].backends[${backendIndex}]: unknown backend "${name}"`);
    }
  }
  for (const validator of validators) errors.push(...validator(file));

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: { file, backends, models, costs: file.costs, source } };
}

function checkSchemaAuth(backend: BackendConfig, index: number, errors: string[]): void {
  const auth = backend.auth;
  const at = `backends[${index}]`;
  if ((backend.schema === 'AWSBedrock' || backend.schema === 'AWSAnthropic') && !auth?.aws) {
    errors.push(`${at}.auth.aws: required for schema ${backend.schema} (requests are SigV4-signed)`);
  }
  if ((backend.schema === 'GCPVertexAI' || backend.schema === 'GCPAnthropic') && !auth?.gcp) {
    errors.push(`${at}.auth.gcp: required for schema ${backend.schema} (it gives the project and region)`);
  }
  if (auth?.aws && backend.schema !== 'AWSBedrock' && backend.schema !== 'AWSAnthropic') {
    errors.push(`${at}.auth.aws: only valid for AWSBedrock and AWSAnthropic`);
  }
  if (auth?.gcp && backend.schema !== 'GCPVertexAI' && backend.schema !== 'GCPAnthropic') {
    errors.push(`${at}.auth.gcp: only valid for GCPVertexAI and GCPAnthropic`);
  }
  const aws = auth?.aws;
  if (aws && Boolean(aws.accessKeyId) !== Boolean(aws.secretAccessKey)) {
    errors.push(`${at}.auth.aws: accessKeyId and secretAccessKey go together`);
  }
  const gcp = auth?.gcp;
  if (gcp && gcp.accessToken && gcp.credentialsFile) {
    errors.push(`${at}.auth.gcp: give accessToken or credentialsFile, not both`);
  }
}

async function resolveAuth(
  backend: BackendConfig,
  at: string,
  env: NodeJS.ProcessEnv,
  errors: string[],
): Promise<ResolvedAuth | undefined> {
  const auth = backend.auth;
  if (!auth) return undefined;
  const secret = (ref: SecretRef | undefined, path: string) => (ref ? Secret.resolve(ref, `${at}.${path}`, env, errors) : undefined);
  const resolved: ResolvedAuth = {
    apiKey: await secret(auth.apiKey, 'apiKey'),
    anthropicApiKey: await secret(auth.anthropicApiKey, 'anthropicApiKey'),
    azureApiKey: await secret(auth.azureApiKey, 'azureApiKey'),
    azureAccessToken: await secret(auth.azureAccessToken, 'azureAccessToken'),
    googleApiKey: await secret(auth.googleApiKey, 'googleApiKey'),
  };
  if (auth.aws) {
    resolved.aws = {
      region: auth.aws.region,
      accessKeyId: await secret(auth.aws.accessKeyId, 'aws.accessKeyId'),
      secretAccessKey: await secret(auth.aws.secretAccessKey, 'aws.secretAccessKey'),
      sessionToken: await secret(auth.aws.sessionToken, 'aws.sessionToken'),
    };
  }
  if (auth.gcp) {
    resolved.gcp = {
      projectId: auth.gcp.projectId,
      region: auth.gcp.region,
      accessToken: await secret(auth.gcp.accessToken, 'gcp.accessToken'),
      credentialsFile: auth.gcp.credentialsFile,
    };
  }
  return resolved;
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

/** Reads and parses a config file. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv, validators: readonly ConfigValidator[]): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [`${path}: cannot read config: ${(error as NodeJS.ErrnoException).code ?? String(error)}`] };
  }
  return parseConfig(text, path, env, validators);
}
