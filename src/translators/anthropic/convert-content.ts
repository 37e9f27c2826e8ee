/**
 * OpenAI content parts -> Anthropic content blocks (text, image, document), with `cache_control` carried over.
 *
 * Images: data URLs become base64 sources (png, jpeg, "jpg" -> image/jpeg, gif, webp); http(s) URLs become
 * `url` sources, but only on the first-party API: Claude on Vertex and on Bedrock answer "URL sources are not
 * supported", and the gateway does not fetch remote content, so there a URL is a clear 422.
 * @see https://platform.claude.com/docs/en/build-with-claude/vision
 * @see https://platform.claude.com/docs/en/build-with-claude/prompt-caching
 */
import { forEachUserPart, invalidRequest, readTextParts, requireText, type CacheControl } from '../shared/content-parts.js';
import { imageUrlOf, readImageDataUrl, readPdfFilePart } from '../shared/parse-data-url.js';

export { invalidRequest, readCacheControl } from '../shared/content-parts.js';

export type AnthropicBlock = Record<string, unknown>;

export interface ContentOptions {
  /** The backend accepts `{"type":"url"}` image sources (first-party API only). */
  readonly allowUrlSources: boolean;
  /** Backend schema, for error messages. */
  readonly schema: string;
}

/** Puts a cache_control on a block (a new object; the client's body is never mutated). */
export function withCacheControl(block: AnthropicBlock, cacheControl: CacheControl | undefined): AnthropicBlock {
  return cacheControl === undefined ? block : { ...block, cache_control: cacheControl };
}

/** Applies a message-level cache_control to the last block of that message's content. */
export function markLastBlock(blocks: AnthropicBlock[], cacheControl: CacheControl | undefined): AnthropicBlock[] {
  if (cacheControl === undefined || blocks.length === 0) return blocks;
  const last = blocks[blocks.length - 1] as AnthropicBlock;
  return [...blocks.slice(0, -1), withCacheControl(last, cacheControl)];
}

function convertImage(part: Record<string, unknown>, param: string, options: ContentOptions): AnthropicBlock {
  const url = imageUrlOf(part, param);
  if (url.startsWith('data:')) {
    const image = readImageDataUrl(url, param);
    return { type: 'image', source: { type: 'base64', media_type: `image/${image.format}`, data: image.data } };
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
  const pdf = readPdfFilePart(part, param);
  const block: AnthropicBlock = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf.data } };
  return pdf.filename ? { ...block, title: pdf.filename } : block;
}

function textBlock(text: string, cacheControl: CacheControl | undefined): AnthropicBlock[] {
  // Anthropic rejects empty text blocks.
  return text === '' ? [] : [withCacheControl({ type: 'text', text }, cacheControl)];
}

/** User content: a string or parts (text, image_url, file). */
export function convertUserContent(content: unknown, param: string, options: ContentOptions): AnthropicBlock[] {
  const blocks: AnthropicBlock[] = [];
  forEachUserPart(content, param, (part, partParam, cacheControl) => {
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

/** Text-only content (system, developer, assistant, tool): a string or text parts (assistant `refusal` parts too). */
export function convertTextContent(content: unknown, param: string): AnthropicBlock[] {
  return readTextParts(content, param).flatMap((part) => textBlock(part.text, part.cacheControl));
}
