/**
 * Bedrock Converse wire shapes, only as far as the translator builds or reads them.
 * Content blocks are unions keyed by a single member name (`{text}`, `{image}`, `{toolUse}` ...).
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
 */
export { invalidRequest } from '../shared/content-parts.js';

export type ConverseImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export type ConverseBlock =
  | { text: string }
  | { image: { format: ConverseImageFormat; source: { bytes: string } | { s3Location: { uri: string } } } }
  | { document: { format: 'pdf'; name: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: ConverseToolResultContent[]; status?: 'success' | 'error' } }
  | { reasoningContent: { reasoningText: { text: string; signature?: string } } | { redactedContent: string } }
  | { cachePoint: { type: 'default' } };

export type ConverseToolResultContent =
  | { text: string }
  | { json: unknown }
  | { image: { format: ConverseImageFormat; source: { bytes: string } } };

export type ConverseSystemBlock = { text: string } | { cachePoint: { type: 'default' } };

export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ConverseBlock[];
}

export type ConverseTool =
  | { toolSpec: { name: string; description?: string; inputSchema: { json: unknown }; strict?: boolean } }
  | { cachePoint: { type: 'default' } };

export type ConverseToolChoice = { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

export function isToolUseBlock(block: ConverseBlock): block is Extract<ConverseBlock, { toolUse: unknown }> {
  return 'toolUse' in block;
}

export function isToolResultBlock(block: ConverseBlock): block is Extract<ConverseBlock, { toolResult: unknown }> {
  return 'toolResult' in block;
}
