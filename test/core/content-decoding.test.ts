import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import {
  ContentDecodingError,
  UnsupportedEncodingError,
  createStreamDecoder,
  decodeBody,
  decodingSteps,
  isSupportedEncoding,
} from '../../src/core/content-decoding.js';
import { LimitExceededError } from '../../src/core/limit-error.js';
import { concatBytes, splitEvery, splitRandom } from '../helpers/chunking.js';

const text = Array.from({ length: 60 }, (_, index) => `data: {"i":${index},"t":"héllo 🌍"}\n\n`).join('');
const plain = new TextEncoder().encode(text);

const encoded: Record<string, Uint8Array> = {
  gzip: zlib.gzipSync(plain),
  'x-gzip': zlib.gzipSync(plain),
  deflate: zlib.deflateSync(plain),
  'deflate-raw': zlib.deflateRawSync(plain),
  br: zlib.brotliCompressSync(plain),
  identity: plain,
};
const headerFor = (name: string) => (name === 'deflate-raw' ? 'deflate' : name);

async function decodeStream(encoding: string, chunks: readonly Uint8Array[]): Promise<{ out: Uint8Array; pieces: Uint8Array[] }> {
  const decoder = createStreamDecoder(encoding);
  const pieces: Uint8Array[] = [];
  for (const chunk of chunks) pieces.push(await decoder.push(chunk));
  pieces.push(await decoder.end());
  return { out: concatBytes(pieces), pieces };
}

describe('decodeBody', () => {
  for (const [name, bytes] of Object.entries(encoded)) {
    it(`decodes a whole ${name} body`, async () => {
      assert.deepStrictEqual(Buffer.from(await decodeBody(headerFor(name), bytes)), Buffer.from(plain));
    });
  }

  it('decodes an empty body to empty bytes for every encoding', async () => {
    for (const name of ['gzip', 'deflate', 'br', 'identity', 'gzip, br']) {
      assert.equal((await decodeBody(name, new Uint8Array(0))).length, 0, name);
    }
  });

  it('undoes several encodings in reverse order', async () => {
    const twice = zlib.brotliCompressSync(zlib.gzipSync(plain));
    assert.deepStrictEqual(Buffer.from(await decodeBody('gzip, br', twice)), Buffer.from(plain));
    assert.deepStrictEqual(decodingSteps('gzip, identity, BR'), ['br', 'gzip']);
  });

  it('rejects corrupt and truncated data with a clear error', async () => {
    await assert.rejects(decodeBody('gzip', new TextEncoder().encode('<html>not gzip</html>')), (error: unknown) => {
      assert.ok(error instanceof ContentDecodingError);
      assert.match(error.message, /cannot decode gzip body/);
      return true;
    });
    await assert.rejects(decodeBody('gzip', encoded.gzip!.slice(0, 20)), /truncated/);
  });

  it('reports an unknown encoding with a typed error', async () => {
    await assert.rejects(decodeBody('zstd', plain), UnsupportedEncodingError);
    assert.throws(() => createStreamDecoder('compress'), UnsupportedEncodingError);
    assert.equal(isSupportedEncoding('zstd'), false);
    assert.equal(isSupportedEncoding('gzip, br'), true);
    assert.equal(isSupportedEncoding(undefined), true);
  });
});

describe('createStreamDecoder', () => {
  for (const [name, bytes] of Object.entries(encoded)) {
    it(`decodes a ${name} stream cut at seeded random points`, async () => {
      for (const seed of [1, 2, 3]) {
        const { out } = await decodeStream(headerFor(name), splitRandom(bytes, seed, 24));
        assert.deepStrictEqual(Buffer.from(out), Buffer.from(plain), `seed ${seed}`);
      }
    });
  }

  it('decodes a gzip stream cut at every byte with one decompressor', async () => {
    const { out } = await decodeStream('gzip', splitEvery(encoded.gzip!, 1));
    assert.deepStrictEqual(Buffer.from(out), Buffer.from(plain));
  });

  it('decodes a gzip stream cut into two pieces at every offset', async () => {
    const bytes = zlib.gzipSync(new TextEncoder().encode('data: {"x":"🌍"}\n\n'));
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      const { out } = await decodeStream('gzip', [bytes.slice(0, cut), bytes.slice(cut)]);
      assert.equal(new TextDecoder().decode(out), 'data: {"x":"🌍"}\n\n', `cut ${cut}`);
    }
  });

  it('returns output as soon as it is decodable (flush per chunk)', async () => {
    const gzip = zlib.createGzip();
    const produced: Buffer[] = [];
    gzip.on('data', (data: Buffer) => produced.push(data));
    const flushWrite = (part: string) =>
      new Promise<Uint8Array>((resolve) => {
        gzip.write(part);
        gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => setImmediate(() => resolve(Buffer.concat(produced.splice(0)))));
      });
    const first = await flushWrite('data: one\n\n');
    const second = await flushWrite('data: two\n\n');
    const decoder = createStreamDecoder('gzip');
    assert.equal(new TextDecoder().decode(await decoder.push(first)), 'data: one\n\n');
    assert.equal(new TextDecoder().decode(await decoder.push(second)), 'data: two\n\n');
    gzip.end();
  });

  it('tolerates an empty stream and empty chunks', async () => {
    for (const name of ['gzip', 'deflate', 'br']) {
      const { out } = await decodeStream(name, []);
      assert.equal(out.length, 0);
      const again = await decodeStream(name, [new Uint8Array(0), new Uint8Array(0)]);
      assert.equal(again.out.length, 0);
    }
  });

  it('rejects corrupt data mid-stream and stays rejected', async () => {
    const decoder = createStreamDecoder('gzip');
    await assert.rejects(decoder.push(new TextEncoder().encode('this is not gzip at all')), ContentDecodingError);
    await assert.rejects(decoder.push(encoded.gzip!), ContentDecodingError);
    await assert.rejects(decoder.end(), ContentDecodingError);
  });

  it('rejects a truncated stream at end() after delivering what it could', async () => {
    const bytes = encoded.gzip!;
    const decoder = createStreamDecoder('gzip');
    const partial = await decoder.push(bytes.slice(0, bytes.length - 6));
    assert.ok(text.startsWith(new TextDecoder().decode(partial).slice(0, 50)));
    assert.ok(partial.length > 0);
    await assert.rejects(decoder.end(), /truncated/);
  });

  it('decodes pushes that were not awaited in order, across chained encodings', async () => {
    const bytes = zlib.brotliCompressSync(zlib.gzipSync(plain));
    const decoder = createStreamDecoder('gzip, br');
    const pending = splitEvery(bytes, 17).map((chunk) => decoder.push(chunk));
    pending.push(decoder.end());
    const out = concatBytes(await Promise.all(pending));
    assert.deepStrictEqual(Buffer.from(out), Buffer.from(plain));
  });

  it('can be closed without finishing', async () => {
    const decoder = createStreamDecoder('gzip');
    await decoder.push(encoded.gzip!.slice(0, 30));
    decoder.close();
  });
});

describe('decompression limit (maxOutputBytes), enforced while inflating', () => {
  const MiB = 1024 * 1024;
  // 16 MiB of zeros is ~16 KB of gzip; 8 members make a 128 MiB bomb from ~130 KB.
  const zeros = Buffer.alloc(16 * MiB);
  const member = zlib.gzipSync(zeros);
  const gzipBomb = Buffer.concat(Array.from({ length: 8 }, () => member));
  const bombs: Record<string, Buffer> = { gzip: gzipBomb, deflate: zlib.deflateSync(zeros), br: zlib.brotliCompressSync(zeros) };

  const isLimit = (limit: number) => (error: unknown) => {
    assert.ok(error instanceof LimitExceededError, String(error));
    assert.equal(error.reason, 'upstream_decompressed_too_large');
    assert.equal(error.limit, limit);
    assert.match(error.message, /grew past 1 MiB while being decompressed/);
    return true;
  };

  for (const [name, bomb] of Object.entries(bombs)) {
    it(`a whole ${name} body stops at the limit`, async () => {
      await assert.rejects(decodeBody(name, bomb, { maxOutputBytes: MiB }), isLimit(MiB));
    });

    it(`a ${name} stream stops at the limit, and stays stopped`, async () => {
      const decoder = createStreamDecoder(name, { maxOutputBytes: MiB });
      let delivered = 0;
      await assert.rejects(
        (async () => {
          for (const chunk of splitEvery(bomb, 4096)) delivered += (await decoder.push(chunk)).length;
          await decoder.end();
        })(),
        isLimit(MiB),
      );
      assert.ok(delivered <= MiB, `at most the limit was delivered (${delivered})`);
      await assert.rejects(decoder.push(bomb.subarray(0, 10)), LimitExceededError);
      await assert.rejects(decoder.end(), LimitExceededError);
    });
  }

  it('counts every concatenated gzip member, streamed and whole', async () => {
    const small = Buffer.concat([zlib.gzipSync('a'.repeat(600)), zlib.gzipSync('b'.repeat(600))]);
    await assert.rejects(decodeBody('gzip', small, { maxOutputBytes: 1000 }), LimitExceededError);
    const decoder = createStreamDecoder('gzip', { maxOutputBytes: 1000 });
    await assert.rejects(
      (async () => {
        await decoder.push(small);
        await decoder.end();
      })(),
      LimitExceededError,
    );
  });

  it('a body exactly at the limit decodes in full, whole and streamed', async () => {
    const limit = plain.length;
    for (const [name, bytes] of Object.entries(encoded)) {
      if (name === 'identity') continue;
      assert.deepStrictEqual(Buffer.from(await decodeBody(headerFor(name), bytes, { maxOutputBytes: limit })), Buffer.from(plain), name);
      const decoder = createStreamDecoder(headerFor(name), { maxOutputBytes: limit });
      const pieces = [];
      for (const chunk of splitEvery(bytes, 7)) pieces.push(await decoder.push(chunk));
      pieces.push(await decoder.end());
      assert.deepStrictEqual(Buffer.from(concatBytes(pieces)), Buffer.from(plain), name);
    }
  });

  it('the limit applies to each decoding step of a chained encoding', async () => {
    const twice = zlib.brotliCompressSync(zlib.gzipSync(zeros));
    await assert.rejects(decodeBody('gzip, br', twice, { maxOutputBytes: MiB }), LimitExceededError);
  });
});
