/**
 * Upstream requests for a native Anthropic Messages body sent to Claude: first-party (`Anthropic`), Vertex AI
 * (`GCPAnthropic`) and Bedrock InvokeModel (`AWSAnthropic`). The client's bytes are edited in place (only the
 * members named below change; key order, spacing, numbers and unknown fields reach the upstream as sent).
 *
 * Anthropic:    POST {prefix}/messages; `model` replaced when overridden; `anthropic-version` header from the
 *               client, else backend.apiVersion, else 2023-06-01.
 * GCPAnthropic: POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
 *               (`:streamRawPredict` when streaming); `model` removed, `anthropic_version` set (backend.apiVersion
 *               ?? vertex-2023-10-16); `stream` kept. The `anthropic-beta` header is passed on.
 * AWSAnthropic: POST /model/{model}/invoke (`/invoke-with-response-stream`); `model` and `stream` removed,
 *               `anthropic_version` set (backend.apiVersion ?? bedrock-2023-05-31); BEDROCK_UNSUPPORTED_FIELDS
 *               (`metadata`, which Claude Code always sends, ...) dropped with a warning; `anthropic-beta` header flags
 *               that Bedrock accepts move into the body's `anthropic_beta`, the others are dropped with a warning
 *               (one unknown flag makes Bedrock reject the whole request; Claude Code always sends some).
 * @see https://platform.claude.com/docs/en/api/versioning
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, encodeJson } from '../../core/json.js';
import { removeTopLevelKey, setTopLevelValue } from '../../core/json-patch.js';
import { ANTHROPIC_VERSION_HEADER as DEFAULT_ANTHROPIC_VERSION, VERTEX_ANTHROPIC_VERSION } from '../anthropic/index.js';
import { BEDROCK_ANTHROPIC_VERSION, invokePath } from '../aws-anthropic/index.js';
import { bedrockRequestHeaders } from '../bedrock/convert-request.js';
import type { RequestContext, UpstreamRequest, Warning } from '../types.js';

/** Top-level Messages fields Bedrock's InvokeModel rejects ("Extra inputs are not permitted"); dropped with a warning. */
export const BEDROCK_UNSUPPORTED_FIELDS = ['metadata', 'service_tier', 'container', 'inference_geo'] as const;

/**
 * `anthropic-beta` flags Bedrock's InvokeModel accepts in `anthropic_beta` (AWS documentation and release notes).
 * First-party-only flags such as `claude-code-20250219`, `oauth-2025-04-20` or `files-api-2025-04-14` are not here.
 */
export const BEDROCK_BETA_FLAGS: ReadonlySet<string> = new Set([
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'fine-grained-tool-streaming-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
]);

interface BodyEdits {
  readonly remove: readonly string[];
  readonly set: Readonly<Record<string, unknown>>;
}

/** Applies top-level edits to the client's bytes; re-serialises only if the bytes cannot be scanned (a BOM). */
export function editBody(ctx: RequestContext, edits: BodyEdits): Uint8Array {
  let raw: Uint8Array | undefined = ctx.rawBody;
  for (const key of edits.remove) raw = raw === undefined ? undefined : removeTopLevelKey(raw, key);
  for (const [key, value] of Object.entries(edits.set)) raw = raw === undefined ? undefined : setTopLevelValue(raw, key, JSON.stringify(value));
  if (raw !== undefined) return raw;
  const copy: Record<string, unknown> = { ...ctx.body };
  for (const key of edits.remove) delete copy[key];
  Object.assign(copy, edits.set);
  return encodeJson(copy);
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.requestHeaders?.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function nativeAnthropicRequest(ctx: RequestContext): UpstreamRequest {
  const modelChanged = ctx.body.model !== ctx.upstreamModel;
  return {
    path: `${ctx.backend.prefix.replace(/\/+$/, '')}/messages`,
    body: modelChanged ? editBody(ctx, { remove: [], set: { model: ctx.upstreamModel } }) : ctx.rawBody,
    setHeaders: {
      'content-type': 'application/json',
      'anthropic-version': header(ctx, 'anthropic-version') ?? ctx.backend.apiVersion ?? DEFAULT_ANTHROPIC_VERSION,
    },
    removeHeaders: [],
  };
}

/** Model names like `claude-sonnet-4-5@20250929` keep their `@`; anything else unsafe in a path segment is escaped. */
function vertexModelSegment(model: string): string {
  return encodeURIComponent(model).replace(/%40/g, '@');
}

export function vertexAnthropicRequest(ctx: RequestContext): UpstreamRequest {
  const gcp = ctx.backend.credentials?.gcp ?? ctx.backend.auth?.gcp;
  if (!gcp) throw new GatewayError('ERR_INTERNAL', `backend ${ctx.backend.name} (GCPAnthropic) needs auth.gcp with projectId and region`);
  const method = ctx.stream ? 'streamRawPredict' : 'rawPredict';
  const project = encodeURIComponent(gcp.projectId);
  const region = encodeURIComponent(gcp.region);
  return {
    path: `/v1/projects/${project}/locations/${region}/publishers/anthropic/models/${vertexModelSegment(ctx.upstreamModel)}:${method}`,
    body: editBody(ctx, { remove: ['model'], set: { anthropic_version: ctx.backend.apiVersion ?? VERTEX_ANTHROPIC_VERSION } }),
    setHeaders: { 'content-type': 'application/json' },
    removeHeaders: ['anthropic-version'],
  };
}

/** Splits the `anthropic-beta` header into the flags Bedrock accepts and warnings for the others. */
export function bedrockBetaFlags(value: string | undefined, warnings: Warning[]): string[] {
  const accepted: string[] = [];
  for (const flag of (value ?? '').split(',').map((part) => part.trim())) {
    if (flag === '' || accepted.includes(flag)) continue;
    if (BEDROCK_BETA_FLAGS.has(flag)) accepted.push(flag);
    else warnings.push({ kind: 'unsupported_parameter', detail: `anthropic-beta flag "${flag.slice(0, 100)}" is not accepted by Bedrock and was dropped` });
  }
  return accepted;
}

export function bedrockAnthropicRequest(ctx: RequestContext): UpstreamRequest {
  const warnings: Warning[] = [];
  const fromHeader = bedrockBetaFlags(header(ctx, 'anthropic-beta'), warnings);
  const inBody = (asArray(ctx.body.anthropic_beta) ?? []).filter((flag): flag is string => typeof flag === 'string');
  const betas = [...new Set([...inBody, ...fromHeader])];
  const set: Record<string, unknown> = { anthropic_version: ctx.backend.apiVersion ?? BEDROCK_ANTHROPIC_VERSION };
  if (betas.length > 0) set.anthropic_beta = betas;
  const unsupported = BEDROCK_UNSUPPORTED_FIELDS.filter((field) => field in ctx.body);
  for (const field of unsupported) warnings.push({ kind: 'unsupported_parameter', detail: `${field} is not accepted by Claude on Bedrock and was dropped` });
  const request: UpstreamRequest = {
    path: invokePath(ctx.upstreamModel, ctx.stream),
    body: editBody(ctx, { remove: ['model', 'stream', ...unsupported], set }),
    setHeaders: bedrockRequestHeaders(ctx.stream),
    removeHeaders: ['anthropic-version', 'anthropic-beta'],
  };
  return warnings.length > 0 ? { ...request, warnings } : request;
}
