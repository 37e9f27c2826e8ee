/**
 * OpenAI message content -> Gemini parts.
 *
 * - text -> `{text}` (empty strings are skipped: Gemini rejects empty text parts);
 * - image_url data URL -> `inlineData{mimeType,data}` (`image/jpg` is normalised to `image/jpeg`);
 * - image_url http(s):// or gs:// -> `fileData{mimeType,fileUri}`, the MIME type guessed from the file extension;
 *   a URL without a known extension is a 422 (Gemini requires the type and guessing wrong fails later);
 * - input_audio -> `inlineData` (audio/wav or audio/mp3); file with `file_data` (a data URL) -> `inlineData`.
 * Anything else (file ids, unknown part types) is a 422: nothing is dropped silently.
 *
 * @see https://ai.google.dev/api/caching#Part
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding
 */
import { asString, isRecord } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { JsonObject } from './gemini-types.js';

const EXTENSION_MIME: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

function invalid(message: string, param: string): never {
  throw new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

function normaliseMime(mime: string): string {
  const lower = mime.toLowerCase();
  return lower === 'image/jpg' ? 'image/jpeg' : lower;
}

/** `data:<mime>;base64,<data>` -> inlineData. */
function inlineFromDataUrl(url: string, param: string): JsonObject {
  const match = /^data:([^;,]+)((?:;[^;,]*)*);base64,(.*)$/s.exec(url);
  if (!match) invalid('data URLs must be base64 encoded with a MIME type (data:<type>;base64,...)', param);
  const data = (match[3] ?? '').replace(/\s+/g, '');
  if (data === '') invalid('the data URL is empty', param);
  return { inlineData: { mimeType: normaliseMime(match[1] ?? ''), data } };
}

function mimeFromUrl(url: URL): string | undefined {
  const name = url.pathname.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  const extension = name.slice(dot + 1).toLowerCase();
  return dot < 0 || !Object.hasOwn(EXTENSION_MIME, extension) ? undefined : EXTENSION_MIME[extension];
}

/** image_url.url -> inlineData or fileData. */
export function convertImageUrl(url: string, param: string): JsonObject {
  if (url.startsWith('data:')) return inlineFromDataUrl(url, param);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return invalid('image_url.url must be a data URL or an http(s):// or gs:// URL', param);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:' && parsed.protocol !== 'gs:') {
    invalid(`image URLs with scheme "${parsed.protocol}" are not supported by Gemini; use a data URL, http(s):// or gs://`, param);
  }
  const mimeType = mimeFromUrl(parsed);
  if (!mimeType) {
    invalid(
      'cannot tell the MIME type of the image URL: Gemini needs it; use a URL ending in .png, .jpg, .jpeg, .gif, .webp, .heic, .heif or .pdf, or a data URL',
      param,
    );
  }
  return { fileData: { mimeType, fileUri: url } };
}

function convertPart(part: unknown, param: string): JsonObject | undefined {
  if (!isRecord(part)) invalid('content parts must be objects', param);
  switch (part.type) {
    case 'text': {
      const text = asString(part.text);
      if (text === undefined) invalid('text parts need a string "text"', param);
      return text === '' ? undefined : { text };
    }
    case 'image_url': {
      const image = part.image_url;
      const url = isRecord(image) ? asString(image.url) : asString(image);
      if (!url) invalid('image_url parts need image_url.url', param);
      return convertImageUrl(url, `${param}.image_url`);
    }
    case 'input_audio': {
      const audio = isRecord(part.input_audio) ? part.input_audio : undefined;
      const data = asString(audio?.data);
      const format = asString(audio?.format);
      if (!data || (format !== 'wav' && format !== 'mp3')) invalid('input_audio needs base64 data and format wav or mp3', param);
      return { inlineData: { mimeType: `audio/${format}`, data } };
    }
    case 'file': {
      const file = isRecord(part.file) ? part.file : undefined;
      const fileData = asString(file?.file_data);
      if (!fileData) invalid('file parts need file.file_data (a data URL); file ids are not supported by Gemini', param);
      return inlineFromDataUrl(fileData.startsWith('data:') ? fileData : `data:application/pdf;base64,${fileData}`, param);
    }
    default:
      return invalid(`content part type "${String(part.type)}" is not supported for Gemini`, param);
  }
}

/** A user message's content (string or parts). */
export function convertUserContent(content: unknown, param: string): JsonObject[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) invalid('content must be a string or an array of parts', param);
  const parts: JsonObject[] = [];
  for (const [index, part] of content.entries()) {
    const converted = convertPart(part, `${param}[${index}]`);
    if (converted) parts.push(converted);
  }
  return parts;
}

/** Text of system, developer, assistant or tool content (string or text parts; refusal parts are skipped). */
export function contentText(content: unknown, param: string): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) invalid('content must be a string or an array of text parts', param);
  const texts: string[] = [];
  for (const [index, part] of content.entries()) {
    if (!isRecord(part)) invalid('content parts must be objects', `${param}[${index}]`);
    if (part.type === 'refusal') continue;
    const text = part.type === 'text' ? asString(part.text) : undefined;
    if (text === undefined) invalid(`only text parts are allowed here, got "${String(part.type)}"`, `${param}[${index}]`);
    if (text !== '') texts.push(text);
  }
  return texts;
}
