/**
 * OpenAI content parts -> Converse content blocks.
 *
 * - Empty text is never sent (Converse rejects blank text blocks).
 * - Images: base64 data URLs of png, jpeg ("jpg" -> "jpeg"), gif, webp become `{image:{format, source:{bytes}}}`
 *   (bytes are base64 in the JSON protocol); `s3://` URLs become `source.s3Location`. Converse cannot fetch
 *   http(s) URLs and the gateway does not fetch remote content, so those are a 422.
 * - `file` parts with a base64 PDF data URL become `document` blocks.
 * - `cache_control` on a part (or a message) becomes a `{cachePoint}` block right after it.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
 */
import { forEachUserPart, invalidRequest, readCacheControl, readTextParts, requireText } from '../shared/content-parts.js';
import { IMAGE_FORMATS, imageUrlOf, readImageDataUrl, readPdfFilePart } from '../shared/parse-data-url.js';
import { CACHE_POINT, type ConverseBlock } from './converse-types.js';

const DATA_URL_OPTIONS = { backend: 'Bedrock', trimData: true } as const;

/** True when the part/message asks for a cache breakpoint; a malformed `cache_control` is a 422. */
export function hasCacheControl(value: unknown, param: string): boolean {
  return readCacheControl(value, param) !== undefined;
}

export function convertImage(part: Record<string, unknown>, param: string): Extract<ConverseBlock, { image: unknown }> {
  const url = imageUrlOf(part, param);
  if (url.startsWith('data:')) {
    const image = readImageDataUrl(url, param, DATA_URL_OPTIONS);
    return { image: { format: image.format, source: { bytes: image.data } } };
  }
  if (/^https?:\/\//i.test(url)) {
    throw invalidRequest(`${param}: Bedrock does not accept image URLs; send the image as a base64 data URL`, param);
  }
  if (/^s3:\/\//i.test(url)) {
    const extension = /\.([a-z]+)$/i.exec(url)?.[1]?.toLowerCase() ?? '';
    const format = IMAGE_FORMATS[`image/${extension}`];
    if (format === undefined) throw invalidRequest(`${param}: cannot tell the image format of ${url} (png, jpeg, gif, webp)`, param);
    return { image: { format, source: { s3Location: { uri: url } } } };
  }
  throw invalidRequest(`${param}: image URLs must be base64 data URLs (or s3:// URIs) for Bedrock`, param);
}

/** Bedrock document names: letters, digits, single spaces, hyphens, parentheses, square brackets. */
function documentName(filename: string | undefined, fallback: string): string {
  const base = (filename ?? '').replace(/\.[A-Za-z0-9]+$/, '');
  const clean = base
    .replace(/[^A-Za-z0-9\s\-()[\]]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
  return clean === '' ? fallback : clean.slice(0, 200);
}

function convertFile(part: Record<string, unknown>, param: string, index: number): ConverseBlock {
  const pdf = readPdfFilePart(part, param, DATA_URL_OPTIONS);
  const name = documentName(pdf.filename, `document-${index + 1}`);
  return { document: { format: 'pdf', name, source: { bytes: pdf.data } } };
}

/** A cache point needs content before it (after an empty part it marks the previous block); never two in a row. */
export function pushCachePoint(blocks: object[]): void {
  const last = blocks[blocks.length - 1];
  if (last !== undefined && !('cachePoint' in last)) blocks.push(CACHE_POINT);
}

function pushText(blocks: ConverseBlock[], text: string, cache: boolean): void {
  if (text !== '') blocks.push({ text });
  if (cache) pushCachePoint(blocks);
}

/** User content: a string or parts (text, image_url, file). */
export function convertUserContent(content: unknown, param: string): ConverseBlock[] {
  const blocks: ConverseBlock[] = [];
  forEachUserPart(content, param, (part, partParam, cacheControl, index) => {
    const cache = cacheControl !== undefined;
    switch (part.type) {
      case 'text':
        pushText(blocks, requireText(part, partParam), cache);
        return;
      case 'image_url':
        blocks.push(convertImage(part, partParam));
        break;
      case 'file':
        blocks.push(convertFile(part, partParam, index));
        break;
      default:
        throw invalidRequest(`${partParam}: content part type "${String(part.type)}" is not supported by Bedrock`, partParam);
    }
    if (cache) pushCachePoint(blocks);
  });
  return blocks;
}

/** Text-only content (system, developer, assistant): a string or text parts (assistant `refusal` parts too). */
export function convertTextContent(content: unknown, param: string): Array<{ text: string } | typeof CACHE_POINT> {
  const blocks: ConverseBlock[] = [];
  for (const part of readTextParts(content, param)) pushText(blocks, part.text, part.cacheControl !== undefined);
  return blocks as Array<{ text: string } | typeof CACHE_POINT>;
}
