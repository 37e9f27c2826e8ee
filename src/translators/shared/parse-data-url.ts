/**
 * Data URLs in OpenAI content parts (`image_url.url`, `file.file_data`), read the same way for every backend that
 * takes inline base64 (Anthropic, Claude on Vertex and Bedrock, Bedrock Converse).
 * @see https://www.rfc-editor.org/rfc/rfc2397
 */
import { asString, isRecord } from '../../core/json.js';
import { invalidRequest } from './content-parts.js';

export interface DataUrl {
  /** Lower case, trimmed; '' when absent. */
  readonly mediaType: string;
  readonly base64: boolean;
  readonly data: string;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

/** `data:[<media type>][;<parameter>]...,<data>`; undefined when `url` is not a data URL. */
export function parseDataUrl(url: string): DataUrl | undefined {
  const match = DATA_URL.exec(url);
  if (!match) return undefined;
  const parameters = (match[2] ?? '').split(';').map((part) => part.trim().toLowerCase());
  return { mediaType: (match[1] ?? '').trim().toLowerCase(), base64: parameters.includes('base64'), data: match[3] ?? '' };
}

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/** The image media types Claude and Converse accept ("image/jpg" is read as jpeg), by format name. */
export const IMAGE_FORMATS: Readonly<Record<string, ImageFormat>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

export interface DataUrlOptions {
  /** Names the backend in the "not supported" message, e.g. "Bedrock". */
  readonly backend?: string;
  /** Trims white space around the base64 payload. */
  readonly trimData?: boolean;
}

/** `image_url` as a string or `{url}`; a missing or empty URL is a 422. */
export function imageUrlOf(part: Record<string, unknown>, param: string): string {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? asString(imageUrl.url) : undefined;
  if (url === undefined || url === '') throw invalidRequest(`${param}.image_url.url is required`, param);
  return url;
}

/** A base64 image data URL of an accepted type; anything else is a 422. */
export function readImageDataUrl(url: string, param: string, options: DataUrlOptions = {}): { format: ImageFormat; data: string } {
  const parsed = parseDataUrl(url);
  if (!parsed || !parsed.base64) throw invalidRequest(`${param}: image data URLs must be base64-encoded`, param);
  const format = Object.hasOwn(IMAGE_FORMATS, parsed.mediaType) ? IMAGE_FORMATS[parsed.mediaType] : undefined;
  if (format === undefined) {
    const by = options.backend === undefined ? '' : ` by ${options.backend}`;
    throw invalidRequest(`${param}: image type "${parsed.mediaType}" is not supported${by} (png, jpeg, gif, webp)`, param);
  }
  const data = options.trimData ? parsed.data.trim() : parsed.data;
  if (data === '') throw invalidRequest(`${param}: the image data URL is empty`, param);
  return { format, data };
}

/** `{"type":"file","file":{"file_data":"data:application/pdf;base64,...","filename"?}}`: the PDF's base64 and name. */
export function readPdfFilePart(part: Record<string, unknown>, param: string, options: DataUrlOptions = {}): { data: string; filename: string | undefined } {
  const file = isRecord(part.file) ? part.file : undefined;
  const fileData = file ? asString(file.file_data) : undefined;
  if (fileData === undefined) throw invalidRequest(`${param}: only inline file_data (a base64 PDF data URL) is supported`, param);
  const parsed = parseDataUrl(fileData);
  const data = parsed === undefined ? '' : options.trimData ? parsed.data.trim() : parsed.data;
  if (!parsed || !parsed.base64 || parsed.mediaType !== 'application/pdf' || data === '') {
    throw invalidRequest(`${param}: file_data must be a base64 data URL of type application/pdf`, param);
  }
  return { data, filename: file ? asString(file.filename) : undefined };
}
