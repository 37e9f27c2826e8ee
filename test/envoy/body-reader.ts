/**
 * Reads a downstream request body into the filter manager's buffer, enforcing the per-request buffer limit:
 * going over it is Envoy's 413 `request_payload_too_large` local reply, sent at once.
 */
import type * as http from 'node:http';

export type BodyReadResult = { ok: true; chunks: Buffer[]; body: Buffer } | { ok: false };

export function readRequestBody(
  request: http.IncomingMessage,
  limitBytes: number,
  onTooLarge: () => void,
): Promise<BodyReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyReadResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limitBytes) {
        settle({ ok: false });
        onTooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => settle({ ok: true, chunks, body: Buffer.concat(chunks) }));
    request.on('close', () => settle({ ok: false }));
    request.on('error', () => settle({ ok: false }));
  });
}

/** Whether HTTP/1 framing announces a body (content-length > 0 or chunked). */
export function expectsBody(request: http.IncomingMessage): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  return length !== undefined && length !== '0';
}
