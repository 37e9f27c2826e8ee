/**
 * Decoding of upstream `content-encoding`: gzip, x-gzip, deflate (zlib-wrapped or raw), br, identity.
 *
 * Streams keep ONE decompressor per response across chunks and flush after every chunk, so output is available as
 * soon as it can be decoded (a fresh decompressor per chunk fails on the second chunk). An empty body is never an
 * error. zlib runs on the libuv thread pool, so nothing here blocks the event loop.
 *
 * Output is bounded WHILE inflating (`maxOutputBytes`): a compression bomb (a few MB of gzip members, each
 * gigabytes of zeros) stops as soon as its output passes the limit, so memory never holds more than the limit plus
 * one zlib chunk. Whole bodies use zlib's own `maxOutputLength`; streams count each output chunk as it comes.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { describeBytes, LimitExceededError } from './limit-error.js';

const EMPTY = new Uint8Array(0);

/** The encoding is not one this module decodes; the caller can pass the body through untouched. */
export class UnsupportedEncodingError extends Error {
  constructor(readonly encoding: string) {
    super(`unsupported content-encoding: ${encoding}`);
    this.name = 'UnsupportedEncodingError';
  }
}

/** The body could not be decoded (corrupt or truncated data). */
export class ContentDecodingError extends Error {
  constructor(
    readonly encoding: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`cannot decode ${encoding} body: ${message}`, options);
    this.name = 'ContentDecodingError';
  }
}

type Coding = 'gzip' | 'deflate' | 'br';

export interface DecodeOptions {
  /** Decoding fails with a LimitExceededError (`upstream_decompressed_too_large`) once the output passes this. */
  readonly maxOutputBytes?: number;
}

function tooLarge(coding: Coding, limit: number): LimitExceededError {
  return new LimitExceededError('upstream_decompressed_too_large', limit, `the ${coding} body grew past ${describeBytes(limit)} while being decompressed`);
}

/**
 * The codings of a `content-encoding` value in the order they must be undone (reverse of application).
 * `identity` and empty entries are skipped. Throws UnsupportedEncodingError for anything else.
 */
export function decodingSteps(encoding: string | undefined): Coding[] {
  if (encoding === undefined) return [];
  const steps: Coding[] = [];
  for (const token of encoding.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    if (name === 'gzip' || name === 'x-gzip') steps.push('gzip');
    else if (name === 'deflate') steps.push('deflate');
    else if (name === 'br') steps.push('br');
    else throw new UnsupportedEncodingError(name);
  }
  return steps.reverse();
}

/** True when `decodeBody` / `createStreamDecoder` can handle this content-encoding. */
export function isSupportedEncoding(encoding: string | undefined): boolean {
  try {
    decodingSteps(encoding);
    return true;
  } catch {
    return false;
  }
}

/** True when the bytes start with a zlib header (RFC 1950): CM = 8 and the header checksum holds. */
function hasZlibHeader(first: number, second: number): boolean {
  return (first & 0x0f) === 8 && (first >> 4) <= 7 && ((first << 8) | second) % 31 === 0;
}

const TRUNCATED = 'data is truncated (unexpected end of stream)';

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'Z_BUF_ERROR') return TRUNCATED;
  return error.message;
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);

async function decodeOnce(coding: Coding, bytes: Uint8Array, maxOutputBytes: number | undefined): Promise<Uint8Array> {
  if (bytes.length === 0) return EMPTY;
  // zlib stops inflating (and frees what it made) as soon as the output would pass maxOutputLength.
  const options = maxOutputBytes === undefined ? {} : { maxOutputLength: maxOutputBytes };
  try {
    if (coding === 'gzip') return await gunzip(bytes, options);
    if (coding === 'br') return await brotliDecompress(bytes, options);
    const zlibWrapped = bytes.length >= 2 && hasZlibHeader(bytes[0] as number, bytes[1] as number);
    return zlibWrapped ? await inflate(bytes, options) : await inflateRaw(bytes, options);
  } catch (error) {
    if (maxOutputBytes !== undefined && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(coding, maxOutputBytes);
    throw new ContentDecodingError(coding, describe(error), { cause: error });
  }
}

/**
 * Decodes a complete body. An empty body decodes to empty bytes. Rejects with UnsupportedEncodingError,
 * ContentDecodingError, or LimitExceededError when the output would pass `maxOutputBytes`.
 */
export async function decodeBody(encoding: string | undefined, bytes: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
  let out = bytes;
  for (const coding of decodingSteps(encoding)) out = await decodeOnce(coding, out, options.maxOutputBytes);
  return out;
}

export interface StreamDecoder {
  /** Decodes one chunk; resolves with whatever output is decodable so far. */
  push(chunk: Uint8Array): Promise<Uint8Array>;
  /** End of the body: resolves with the remaining output. Rejects when the data was truncated or corrupt. */
  end(): Promise<Uint8Array>;
  /** Releases the decompressors without finishing (client gone, upstream reset). */
  close(): void;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0] as Uint8Array;
  return Buffer.concat(parts);
}

/** One decompressor kept for the whole stream. */
class ZlibStage implements StreamDecoder {
  private engine: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress | undefined;
  private output: Buffer[] = [];
  /** Bytes this stage has produced since the stream began. */
  private produced = 0;
  private failure: Error | undefined;
  private onFailure: ((error: Error) => void) | undefined;
  /** Deflate only: leading bytes held until the zlib header can be recognised. */
  private held: Uint8Array = EMPTY;

  constructor(
    private readonly coding: Coding,
    private readonly maxOutputBytes: number,
  ) {}

  private start(first: Uint8Array): void {
    const engine =
      this.coding === 'gzip'
        ? zlib.createGunzip()
        : this.coding === 'br'
          ? zlib.createBrotliDecompress()
          : hasZlibHeader(first[0] as number, first[1] as number)
            ? zlib.createInflate()
            : zlib.createInflateRaw();
    engine.on('data', (data: Buffer) => {
      if (this.failure) return;
      this.produced += data.length;
      if (this.produced > this.maxOutputBytes) {
        // Stop inflating now: destroy() ends the work queued on the thread pool and frees what was produced.
        this.fail(tooLarge(this.coding, this.maxOutputBytes));
        engine.destroy();
        return;
      }
      this.output.push(data);
    });
    engine.on('error', (error: Error) => {
      if (!this.failure) this.fail(new ContentDecodingError(this.coding, describe(error), { cause: error }));
    });
    this.engine = engine;
  }

  private fail(error: Error): void {
    this.failure = error;
    this.output = [];
    this.onFailure?.(error);
  }

  private take(): Uint8Array {
    const out = concat(this.output);
    this.output = [];
    return out;
  }

  /** Runs one engine operation; resolves with the output produced, rejects on a zlib error. */
  private run(operation: (engine: NonNullable<ZlibStage['engine']>, done: () => void) => void): Promise<Uint8Array> {
    const engine = this.engine;
    if (engine === undefined) return Promise.resolve(EMPTY);
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.onFailure = reject;
      operation(engine, () => {
        this.onFailure = undefined;
        if (this.failure) reject(this.failure);
        else resolve(this.take());
      });
    });
  }

  push(chunk: Uint8Array): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    let input = chunk;
    if (this.engine === undefined) {
      if (chunk.length === 0) return Promise.resolve(EMPTY);
      if (this.coding === 'deflate' && this.held.length + chunk.length < 2) {
        this.held = Uint8Array.from([...this.held, ...chunk]);
        return Promise.resolve(EMPTY);
      }
      if (this.held.length > 0) input = Buffer.concat([this.held, chunk]);
      this.held = EMPTY;
      this.start(input);
    }
    return this.run((engine, done) => {
      engine.write(input);
      engine.flush(this.coding === 'br' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH, done);
    });
  }

  end(): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.engine === undefined) {
      if (this.held.length === 0) return Promise.resolve(EMPTY);
      // a single byte of deflate data can never be a complete stream
      return Promise.reject(new ContentDecodingError(this.coding, TRUNCATED));
    }
    return this.run((engine, done) => {
      engine.once('end', done);
      engine.end();
    });
  }

  close(): void {
    this.engine?.destroy();
    this.output = [];
  }
}

/** Chains stages and serialises calls, so pushes that are not awaited still decode in order. */
class ChainDecoder implements StreamDecoder {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly stages: readonly StreamDecoder[]) {}

  private enqueue(task: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  push(chunk: Uint8Array): Promise<Uint8Array> {
    return this.enqueue(async () => {
      let data = chunk;
      for (const stage of this.stages) data = await stage.push(data);
      return data;
    });
  }

  end(): Promise<Uint8Array> {
    return this.enqueue(async () => {
      let carry: Uint8Array = EMPTY;
      for (const stage of this.stages) {
        const pushed = carry.length > 0 ? await stage.push(carry) : EMPTY;
        const rest = await stage.end();
        carry = concat([pushed, rest].filter((part) => part.length > 0));
      }
      return carry;
    });
  }

  close(): void {
    for (const stage of this.stages) stage.close();
  }
}

/**
 * A decoder for one streamed body. Throws UnsupportedEncodingError for an unknown encoding.
 * `identity` (or no encoding) returns chunks as they are. With `maxOutputBytes`, a push or end rejects with a
 * LimitExceededError as soon as the total decoded output passes it (checked per zlib output chunk).
 */
export function createStreamDecoder(encoding: string | undefined, options: DecodeOptions = {}): StreamDecoder {
  const steps = decodingSteps(encoding);
  const limit = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  return new ChainDecoder(steps.map((coding) => new ZlibStage(coding, limit)));
}
