/**
 * Splitters for chunk-boundary tests: a stream must give the same result however it is cut.
 * Random cuts come from a tiny deterministic PRNG, so a failing seed can be replayed.
 */

/** mulberry32: a small, fast, deterministic 32-bit PRNG. Returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** The whole input as one chunk. */
export function splitWhole(bytes: Uint8Array): Uint8Array[] {
  return [bytes];
}

/** Chunks of `size` bytes (the last may be shorter). size 1 = every byte. */
export function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  if (size < 1) throw new RangeError('size must be >= 1');
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.slice(offset, offset + size));
  return chunks;
}

/** Cuts at seeded random offsets; roughly one cut per `averageSize` bytes. Empty chunks may appear. */
export function splitRandom(bytes: Uint8Array, seed: number, averageSize = 16): Uint8Array[] {
  const random = createRandom(seed);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    // occasionally an empty chunk: translators must accept them
    const size = random() < 0.05 ? 0 : 1 + Math.floor(random() * averageSize * 2);
    chunks.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return chunks;
}

export interface Splitting {
  readonly name: string;
  readonly chunks: Uint8Array[];
}

/** Whole, every byte, and `randomCount` seeded random splittings (seeds 1..randomCount). */
export function standardSplittings(bytes: Uint8Array, randomCount = 5): Splitting[] {
  const splittings: Splitting[] = [
    { name: 'whole', chunks: splitWhole(bytes) },
    { name: 'every-byte', chunks: splitEvery(bytes, 1) },
  ];
  for (let seed = 1; seed <= randomCount; seed += 1) {
    splittings.push({ name: `random-${seed}`, chunks: splitRandom(bytes, seed, 8 * seed) });
  }
  return splittings;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
