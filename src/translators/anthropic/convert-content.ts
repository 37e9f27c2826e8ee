/**
 * OpenAI content parts -> Anthropic content blocks (text, image, document), with `cache_control` carried over.
 *
 * Images: data URLs become base64 sources (png, jpeg, "jpg" -> image/jpeg, gif, webp); http(s) URLs become
 * `url` sources, but only on the first-party API: Claude on Vertex and on Bedrock answer "URL sources are not
 * supported", and the gateway does not fetch remote content, so there a URL is a clear 422.
 * @see https://platform.claude.com/docs/en/build-with-claude/vision
 * @see https://platform.claude.com/docs/en/build-with-claude/prompt-caching
 */
import { GatewayError } from '../../core/errors.js';
import { asString, isRecord } from '../../core/json.js';

export type AnthropicBlock = Record<string, unknown>;

export interface ContentOptions {
  /** The backend accepts `{"type":"url"}` image sources (first-party API only). */
  readonly allowUrlSources: boolean;
  /** Backend schema, for error messages. */
  readonly schema: string;
}

export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

const IMAGE_MEDIA_TYPES: Readonly<Record<string, string>> = {
  'image/png': 'image/png',
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
};

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

interface DataUrl {
  readonly mediaType: string;
  readonly base64: boolean;
  readonly data: string;
}

function parseDataUrl(url: string): DataUrl | undefined {
  const match = DATA_URL.exec(url);
  if (!match) return undefined;
  const parameters = (match[2] ?? '').split(';').map((part) => part.trim().toLowerCase());
  return { mediaType: (match[1] ?? '').trim().toLowerCase(), base64: parameters.includes('base64'), data: match[3] ?? '' };
}

/** `cache_control` as given (e.g. `{"type":"ephemeral","ttl":"1h"}`), or undefined. Anything but an object is a 422. */
export function readCacheControl(value: unknown, param: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || typeof value.type !== 'string') {
    throw invalidRequest(`${param} must be an object with a "type", e.g. {"type":"ephemeral"}`, param);
  }
  return value;
}

/** Puts a cache_control on a block (a new object; the client's body is never mutated). */
export function withCacheControl(block: AnthropicBlock, cacheControl: Record<string, unknown> | undefined): AnthropicBlock {
  return cacheControl === undefined ? block : { ...block, cache_control: cacheControl };
}

/** Applies a message-level cache_control to the last block of that message's content. */
export function markLastBlock(blocks: AnthropicBlock[], cacheControl: Record<string, unknown> | undefined): AnthropicBlock[] {
  if (cacheControl === undefined || blocks.length === 0) return blocks;
  const last = blocks[blocks.length - 1] as AnthropicBlock;
  return [...blocks.slice(0, -1), withCacheControl(last, cacheControl)];
}

function convertImage(part: Record<string, unknown>, param: string, options: ContentOptions): AnthropicBlock {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? asString(imageUrl.url) : undefined;
  if (url === undefined || url === '') throw invalidRequest(`${param}.image_url.url is required`, param);
  if (url.startsWith('data:')) {
    const parsed = parseDataUrl(url);
    const mediaType = parsed ? IMAGE_MEDIA_TYPES[parsed.mediaType] : undefined;
    if (!parsed || !parsed.base64) throw invalidRequest(`${param}: image data URLs must be base64-encoded`, param);
    if (mediaType === undefined) {
      throw invalidRequest(`${param}: image type "${parsed.mediaType}" is not supported (png, jpeg, gif, webp)`, param);
    }
    if (parsed.data === '') throw invalidRequest(`${param}: the image data URL is empty`, param);
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: parsed.data } };
  }
  if (/^https?:\/\//i.test(url)) {
    if (!options.allowUrlSources) {
      throw invalidRequest(`${param}: ${options.schema} backends do not accept image URLs; send the image as a base64 data URL`, param);
    }
    return { type: 'image', source: { type: 'url', url } };
  }
  throw invalidRequest(`${param}: image URLs must be data: or http(s): URLs`, param);
}

/** `{"type":"file","file":{"file_data":"data:application/pdf;base64,..."}}` -> a PDF document block. */
function convertFile(part: Record<string, unknown>, param: string): AnthropicBlock {
  const file = isRecord(part.file) ? part.file : undefined;
  const fileData = file ? asString(file.file_data) : undefined;
  if (fileData === undefined) throw invalidRequest(`${param}: only inline file_data (a base64 PDF data URL) is supported`, param);
  const parsed = parseDataUrl(fileData);
  if (!parsed || !parsed.base64 || parsed.mediaType !== 'application/pdf' || parsed.data === '') {
    throw invalidRequest(`${param}: file_data must be a base64 data URL of type application/pdf`, param);
  }
  const block: AnthropicBlock = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: parsed.data } };
  const filename = file ? asString(file.filename) : undefined;
  return filename ? { ...block, title: filename } : block;
}

function textBlock(text: string, cacheControl: Record<string, unknown> | undefined): AnthropicBlock[] {
  // Anthropic rejects empty text blocks.
  return text === '' ? [] : [withCacheControl({ type: 'text', text }, cacheControl)];
}

/** User content: a string or parts (text, image_url, file). */
export function convertUserContent(content: unknown, param: string, options: ContentOptions): AnthropicBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return textBlock(content, undefined);
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of content parts`, param);
  const blocks: AnthropicBlock[] = [];
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    const cacheControl = readCacheControl(part.cache_control, `${partParam}.cache_control`);
    switch (part.type) {
      case 'text':
        blocks.push(...textBlock(requireText(part, partParam), cacheControl));
        break;
      case 'image_url':
        blocks.push(withCacheControl(convertImage(part, partParam, options), cacheControl));
        break;
      case 'file':
        blocks.push(withCacheControl(convertFile(part, partParam), cacheControl));
        break;
      default:
        throw invalidRequest(`${partParam}: content part type "${String(part.type)}" is not supported by ${options.schema} backends`, partParam);
    }
  });
  return blocks;
}

function requireText(part: Record<string, unknown>, param: string): string {
  const text = asString(part.text);
  if (text === undefined) throw invalidRequest(`${param}.text must be a string`, param);
  return text;
}

/** Text-only content (system, developer, assistant, tool): a string or text parts (assistant `refusal` parts too). */
export function convertTextContent(content: unknown, param: string): AnthropicBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return textBlock(content, undefined);
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of text parts`, param);
  const blocks: AnthropicBlock[] = [];
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    const cacheControl = readCacheControl(part.cache_control, `${partParam}.cache_control`);
    if (part.type === 'text') blocks.push(...textBlock(requireText(part, partParam), cacheControl));
    else if (part.type === 'refusal') blocks.push(...textBlock(asString(part.refusal) ?? '', cacheControl));
    else throw invalidRequest(`${partParam}: only text parts are allowed here (got "${String(part.type)}")`, partParam);
  });
  return blocks;
}
