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
import { asString, isRecord } from '../../core/json.js';
import { CACHE_POINT, invalidRequest, type ConverseBlock, type ConverseImageFormat } from './converse-types.js';

const IMAGE_FORMATS: Readonly<Record<string, ConverseImageFormat>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

function parseDataUrl(url: string): { mediaType: string; base64: boolean; data: string } | undefined {
  const match = DATA_URL.exec(url);
  if (!match) return undefined;
  const parameters = (match[2] ?? '').split(';').map((part) => part.trim().toLowerCase());
  return { mediaType: (match[1] ?? '').trim().toLowerCase(), base64: parameters.includes('base64'), data: (match[3] ?? '').trim() };
}

/** True when the part/message asks for a cache breakpoint; a malformed `cache_control` is a 422. */
export function hasCacheControl(value: unknown, param: string): boolean {
  if (value === undefined || value === null) return false;
  if (!isRecord(value) || typeof value.type !== 'string') {
    throw invalidRequest(`${param} must be an object with a "type", e.g. {"type":"ephemeral"}`, param);
  }
  return true;
}

export function convertImage(part: Record<string, unknown>, param: string): Extract<ConverseBlock, { image: unknown }> {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? asString(imageUrl.url) : undefined;
  if (url === undefined || url === '') throw invalidRequest(`${param}.image_url.url is required`, param);
  if (url.startsWith('data:')) {
    const parsed = parseDataUrl(url);
    if (!parsed || !parsed.base64) throw invalidRequest(`${param}: image data URLs must be base64-encoded`, param);
    const format = IMAGE_FORMATS[parsed.mediaType];
    if (format === undefined) {
      throw invalidRequest(`${param}: image type "${parsed.mediaType}" is not supported by Bedrock (png, jpeg, gif, webp)`, param);
    }
    if (parsed.data === '') throw invalidRequest(`${param}: the image data URL is empty`, param);
    return { image: { format, source: { bytes: parsed.data } } };
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
  const file = isRecord(part.file) ? part.file : undefined;
  const fileData = file ? asString(file.file_data) : undefined;
  if (fileData === undefined) throw invalidRequest(`${param}: only inline file_data (a base64 PDF data URL) is supported`, param);
  const parsed = parseDataUrl(fileData);
  if (!parsed || !parsed.base64 || parsed.mediaType !== 'application/pdf' || parsed.data === '') {
    throw invalidRequest(`${param}: file_data must be a base64 data URL of type application/pdf`, param);
  }
  const name = documentName(file ? asString(file.filename) : undefined, `document-${index + 1}`);
  return { document: { format: 'pdf', name, source: { bytes: parsed.data } } };
}

function requireText(part: Record<string, unknown>, param: string): string {
  const text = asString(part.text);
  if (text === undefined) throw invalidRequest(`${param}.text must be a string`, param);
  return text;
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
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of content parts`, param);
  const blocks: ConverseBlock[] = [];
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    const cache = hasCacheControl(part.cache_control, `${partParam}.cache_control`);
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
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of text parts`, param);
  const blocks: ConverseBlock[] = [];
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    const cache = hasCacheControl(part.cache_control, `${partParam}.cache_control`);
    if (part.type === 'text') pushText(blocks, requireText(part, partParam), cache);
    else if (part.type === 'refusal') pushText(blocks, asString(part.refusal) ?? '', cache);
    else throw invalidRequest(`${partParam}: only text parts are allowed here (got "${String(part.type)}")`, partParam);
  });
  return blocks as Array<{ text: string } | typeof CACHE_POINT>;
}
