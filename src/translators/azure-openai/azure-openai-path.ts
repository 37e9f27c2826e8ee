/**
 * Azure OpenAI deployment paths: `/openai/deployments/{deployment}/chat/completions?api-version=V`.
 * The deployment is the upstream model name (modelNameOverride, else the client's model).
 * @see https://learn.microsoft.com/azure/ai-services/openai/reference
 */
import type { RequestContext } from '../types.js';
import { openAIEndpoint } from '../openai/build-openai-request.js';

/**
 * The api-version used when the backend sets no `apiVersion`: the latest generally-available data-plane version
 * (2024-10-21; it supports `stream_options.include_usage`). Set `apiVersion` on the backend to use another one.
 * @see https://learn.microsoft.com/azure/ai-services/openai/api-version-deprecation
 */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

export function azureOpenAIPath(ctx: RequestContext): string {
  const deployment = encodeURIComponent(ctx.upstreamModel);
  const version = encodeURIComponent(ctx.backend.apiVersion ?? DEFAULT_AZURE_API_VERSION);
  return `/openai/deployments/${deployment}/${openAIEndpoint(ctx.operation)}?api-version=${version}`;
}
