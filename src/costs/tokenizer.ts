/**
 * Local token counting with tiktoken. Encoders are WASM objects created once per process and never freed.
 *
 * OpenAI models are counted with their own encoding (exact for text). Other families are counted with
 * cl100k_base and multiplied by a per-family correction factor measured against provider-reported counts
 * (docs/token-budgets.md lists the measurements), plus the family's own framing overheads.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Tiktoken } from 'tiktoken';

export type EncodingName = 'o200k_base' | 'cl100k_base';

export type TokenizerFamily = 'openai-o200k' | 'openai-cl100k' | 'claude' | 'claude-4.7+' | 'gemini' | 'llama' | 'mistral' | 'other';

/** How one model family turns a request into tokens, relative to a tiktoken count. */
export interface FamilyProfile {
  readonly family: TokenizerFamily;
  readonly encoding: EncodingName;
  /** Provider tokens per tiktoken token for plain text. */
  readonly factor: number;
  /** Framing tokens per chat message (role markers). */
  readonly perMessage: number;
  /** Extra tokens when a message carries a `name`. */
  readonly perName: number;
  /** Tokens that prime the assistant's reply, once per request. */
  readonly replyPriming: number;
  /** Once per request when tools are declared (Anthropic adds a tool-use system prompt). */
  readonly toolsBase: number;
  /** Framing per declared tool (non-OpenAI families; OpenAI uses its published per-function constants). */
  readonly perTool: number;
  /** Flat estimate per image part (providers charge by pixel size, which a gateway does not decode). */
  readonly imageTokens: number;
  /** Flat estimate per image part with `detail: "low"`. */
  readonly imageTokensLow: number;
}

const OPENAI_BASE = { factor: 1, perMessage: 3, perName: 1, replyPriming: 3, toolsBase: 0, perTool: 0, imageTokens: 765, imageTokensLow: 85 };
/** Claude's framing, fitted with count_tokens; the tokenizer generations differ only in their text factor. */
const CLAUDE_BASE = { encoding: 'cl100k_base', perMessage: 3, perName: 0, replyPriming: 3, toolsBase: 346, perTool: 3, imageTokens: 1600, imageTokensLow: 1600 } as const;

/**
 * @see https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb
 *      (3 tokens per message, 1 per name, 3 for reply priming; 765 tokens for a 1024x1024 high-detail image, 85 low)
 * @see https://platform.claude.com/docs/en/build-with-claude/token-counting (count_tokens examples used to fit claude)
 * @see https://docs.claude.com/en/docs/agents-and-tools/tool-use/overview (tool-use system prompt: 346 tokens)
 * @see https://ai.google.dev/gemini-api/docs/tokens (258 tokens per image; count examples used to fit gemini)
 */
const PROFILES: Record<TokenizerFamily, FamilyProfile> = {
  'openai-o200k': { family: 'openai-o200k', encoding: 'o200k_base', ...OPENAI_BASE },
  'openai-cl100k': { family: 'openai-cl100k', encoding: 'cl100k_base', ...OPENAI_BASE },
  claude: { family: 'claude', factor: 1.2, ...CLAUDE_BASE },
  // Claude 4.7 and later use a newer tokenizer: "approximately 30 percent more tokens" for the same text.
  'claude-4.7+': { family: 'claude-4.7+', factor: 1.56, ...CLAUDE_BASE },
  gemini: {
    family: 'gemini',
    encoding: 'cl100k_base',
    factor: 1.0,
    perMessage: 0,
    perName: 0,
    replyPriming: 0,
    toolsBase: 0,
    perTool: 14,
    imageTokens: 258,
    imageTokensLow: 258,
  },
  // Llama 3 uses a 128k tiktoken-style vocabulary built on cl100k_base; not measured (no provider counts).
  llama: { family: 'llama', encoding: 'cl100k_base', factor: 1.0, perMessage: 4, perName: 0, replyPriming: 4, toolsBase: 0, perTool: 3, imageTokens: 1600, imageTokensLow: 1600 },
  // Mistral's older SentencePiece vocabularies need more tokens than cl100k_base; not measured.
  mistral: { family: 'mistral', encoding: 'cl100k_base', factor: 1.15, perMessage: 3, perName: 0, replyPriming: 3, toolsBase: 0, perTool: 3, imageTokens: 1600, imageTokensLow: 1600 },
  // Anything else: cl100k_base with a 10% safety margin; not measured.
  other: { family: 'other', encoding: 'cl100k_base', factor: 1.1, perMessage: 3, perName: 1, replyPriming: 3, toolsBase: 0, perTool: 3, imageTokens: 1600, imageTokensLow: 1600 },
};

const O200K_MODEL = /^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex|computer-use)/;
const CL100K_MODEL = /^(?:ft:)?(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)/;
const MISTRAL_MODEL = /(?:mistral|mixtral|codestral|ministral|magistral|devstral|pixtral)/;
/** claude-<tier>-<major>[-<minor>] or claude-<major>[-<minor>]-<tier>; the minor is 1-2 digits (not a date). */
const CLAUDE_VERSION = /claude-(?:(?:opus|sonnet|haiku|fable|instant)-)?(\d{1,2})(?:[.-](\d{1,2})(?!\d))?/;

function claudeUsesNewTokenizer(name: string): boolean {
  const match = CLAUDE_VERSION.exec(name);
  if (!match) return false;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? 0 : Number(match[2]);
  return major > 4 || (major === 4 && minor >= 7);
}

/** The tokenizer family of a model name (client or upstream name; provider prefixes are ignored). */
export function tokenizerFamily(model: string): TokenizerFamily {
  const lower = model.toLowerCase();
  const name = lower.slice(lower.lastIndexOf('/') + 1);
  if (O200K_MODEL.test(name)) return 'openai-o200k';
  if (CL100K_MODEL.test(name)) return 'openai-cl100k';
  if (name.includes('claude')) return claudeUsesNewTokenizer(name) ? 'claude-4.7+' : 'claude';
  if (name.includes('gemini') || name.includes('gemma')) return 'gemini';
  if (name.includes('llama')) return 'llama';
  if (MISTRAL_MODEL.test(name)) return 'mistral';
  return 'other';
}

export function profileFor(model: string): FamilyProfile {
  return PROFILES[tokenizerFamily(model)];
}

const encoders = new Map<EncodingName, Tiktoken>();

/**
 * tiktoken, required on the first encoder: its import reads and compiles a 5.6 MB WASM module (~25 ms, ~20 MiB), which
 * `validate`, `envoy` and a config without models never need. It is CommonJS, so loading it on demand stays synchronous.
 */
let tiktoken: typeof import('tiktoken') | undefined;
function loadTiktoken(optimize: boolean): typeof import('tiktoken') {
  if (tiktoken) return tiktoken;
  // V8 compiles a WASM module with its baseline compiler and re-compiles hot functions with the optimising one on
  // background threads. For tiktoken that second tier costs ~30 MiB of resident memory (code and the threads' malloc
  // arenas) and ~150 ms of start-up, for encoding ~1.5x faster. Without per-request counting (no `reserve` cost) the
  // tokenizer only runs for counting endpoints and streams without usage, so the baseline tier is kept. The flag
  // is read when the module is compiled, so it is set around the import only.
  if (!optimize) setFlagsFromString('--liftoff-only');
  try {
    tiktoken = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
  } finally {
    if (!optimize) setFlagsFromString('--no-liftoff-only');
  }
  return tiktoken;
}

/**
 * Loads the encoders these models need now (~100-300 ms each), so the first request that counts tokens does not pay
 * for it. `optimize`: token counts run on every request (a `reserve` cost), so tiktoken gets V8's optimising tier;
 * it is decided by the first load in the process.
 */
export function preloadEncoders(models: Iterable<string> = ['gpt-4o', 'gpt-4'], optimize = true): void {
  const needed = new Set<EncodingName>();
  for (const model of models) needed.add(profileFor(model).encoding);
  const toBuild = [...needed].filter((encoding) => !encoders.has(encoding));
  if (toBuild.length === 0) return;
  collectGarbage();
  loadTiktoken(optimize);
  for (const encoding of toBuild) encoderFor(encoding);
}

/**
 * One full collection before the encoders are built. Building o200k_base takes ~300 ms of the main thread; when V8's
 * mark-compact fell inside it (about one start in two, by timing), the memory the collector had malloc'ed stayed
 * behind as ~10 MiB of free but fragmented glibc heap: idle RSS 125 instead of 115 MiB. Collecting first (~10 ms on
 * the small start-up heap) leaves no collection due during the build. V8 offers `gc` only with --expose-gc, which
 * the flag gives to a context created after it is set.
 */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    exposed();
    return;
  }
  setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as () => void)();
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The process-wide encoder (created on first use, never freed). */
export function encoderFor(encoding: EncodingName): Tiktoken {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = loadTiktoken(true).get_encoding(encoding);
    encoders.set(encoding, encoder);
  }
  return encoder;
}

/**
 * Longest run of whitespace or of non-whitespace handed to tiktoken in one piece. Its BPE is quadratic in the
 * length of one pre-token (64K identical letters take seconds; 2M trap the WASM module), so a client or an
 * upstream sending one huge "word" could stall the event loop. Runs this long never occur in prose; cutting
 * them (base64 blobs, long URLs, padding) changes a count by about one token per cut.
 */
export const MAX_RUN_CHARS = 128;
const WHITE_SPACE = /\p{White_Space}/u;

function isWhiteSpaceAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return WHITE_SPACE.test(text[index] as string);
}

/** Offsets cutting every whitespace / non-whitespace run longer than MAX_RUN_CHARS (never inside a surrogate pair). */
function runCuts(text: string): number[] {
  const cuts: number[] = [];
  let runStart = 0;
  let runSpace = isWhiteSpaceAt(text, 0);
  for (let index = 1; index < text.length; index += 1) {
    const space = isWhiteSpaceAt(text, index);
    if (space !== runSpace) {
      runStart = index;
      runSpace = space;
    } else if (index - runStart >= MAX_RUN_CHARS) {
      const code = text.charCodeAt(index);
      if (code >= 0xdc00 && code <= 0xdfff) continue;
      cuts.push(index);
      runStart = index;
    }
  }
  return cuts;
}

/**
 * Exact tiktoken count; special-token text such as `<|endoftext|>` counts as ordinary text. Runs longer than
 * MAX_RUN_CHARS are counted in slices so the cost stays linear in the length of the text.
 */
export function encodeCount(encoding: EncodingName, text: string): number {
  if (text.length === 0) return 0;
  const encoder = encoderFor(encoding);
  const cuts = text.length > MAX_RUN_CHARS ? runCuts(text) : [];
  if (cuts.length === 0) return encoder.encode_ordinary(text).length;
  let total = 0;
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    total += encoder.encode_ordinary(text.slice(start, cut)).length;
    start = cut;
  }
  return total;
}

/**
 * Counts at most this many characters exactly per request; the rest is extrapolated (bounded CPU per request).
 * 256K characters take ~50 ms, so even a 32 MiB body is answered well inside Envoy's default 200 ms ext_proc
 * message timeout (1M characters took ~130 ms, too close to it).
 */
export const EXACT_CHAR_BUDGET = 256_000;
const DEFAULT_TOKENS_PER_CHAR = 0.3;

/**
 * Raw tiktoken counts for one request, with a CPU bound: after EXACT_CHAR_BUDGET characters, further text is
 * estimated from the tokens-per-character ratio observed so far.
 */
export class TextTokenTally {
  private exactChars = 0;
  private exactTokens = 0;
  /** Raw tiktoken tokens (before the family factor). */
  raw = 0;

  constructor(readonly encoding: EncodingName, private readonly budget = EXACT_CHAR_BUDGET) {}

  add(text: string): void {
    if (text.length === 0) return;
    const room = this.budget - this.exactChars;
    if (text.length <= room) {
      const tokens = encodeCount(this.encoding, text);
      this.exactChars += text.length;
      this.exactTokens += tokens;
      this.raw += tokens;
      return;
    }
    if (room > 0) this.add(text.slice(0, room));
    const ratio = this.exactChars > 0 ? this.exactTokens / this.exactChars : DEFAULT_TOKENS_PER_CHAR;
    this.raw += Math.ceil((text.length - Math.max(room, 0)) * ratio);
  }
}

/** Tokens of `text` for `model` (family factor applied), e.g. output delivered by a backend that reports no usage. */
export function countOutputTokens(model: string, text: string): number {
  const profile = profileFor(model);
  const tally = new TextTokenTally(profile.encoding);
  tally.add(text);
  return Math.round(tally.raw * profile.factor);
}

export interface TokenCounter {
  /** Appends delivered text (no tokenizer work unless a lot of text is waiting). */
  add(text: string): void;
  /** Tokens of everything added so far (family factor applied): exact, encodes the text not yet counted. */
  readonly tokens: number;
  /**
   * A cheap running figure: the text counted so far plus the uncounted rest at the tokens-per-character ratio
   * of this text's first CALIBRATION_CHARS (counted exactly once). No tokenizer work after that, and none before
   * CALIBRATION_CHARS have arrived: shorter text is estimated at DEFAULT_TOKENS_PER_CHAR.
   */
  readonly estimate: number;
}

/**
 * Uncounted text is kept up to this many characters (64 KiB of memory per stream at most). Past it, `add` counts
 * the oldest part exactly, in slices of at most EXACT_CHARS_PER_ADD, so only long outputs pay the tokenizer while
 * they stream; most streams end with a provider's usage and their text is never encoded.
 */
export const PENDING_CHARS = 32 * 1024;

/** Characters counted exactly to calibrate `estimate` (30-60 µs of tiktoken once per stream). */
export const CALIBRATION_CHARS = 128;

/**
 * Most characters one `add` counts exactly. Beyond it (one huge event: a 50 MB delta), the rest of that text is
 * extrapolated from the tokens-per-character ratio counted so far, so one event costs a few ms of tiktoken on the
 * event loop instead of seconds. Normal streams deliver a few characters per event and stay exact.
 */
export const EXACT_CHARS_PER_ADD = 8192;

/**
 * Incremental counter for streamed text. Text waits uncounted (tiktoken costs about a quarter of a microsecond per
 * character, more than the rest of a chunk's processing), and is encoded only when an exact count is asked for or
 * PENDING_CHARS are waiting. It is cut just before a space or newline that follows a non-space character (a token
 * boundary for tiktoken's pre-tokenizer), so every character is encoded once and the count matches a one-shot
 * count of the whole text up to rare boundary effects. Work per `add` is bounded (EXACT_CHARS_PER_ADD).
 */
export function createTokenCounter(model: string): TokenCounter {
  const profile = profileFor(model);
  let committed = 0;
  let pending = '';
  /** Characters and tokens counted exactly, for extrapolating the part of a huge add that is not. */
  let exactChars = 0;
  let exactTokens = 0;
  let extrapolated = 0;
  const commit = (text: string): void => {
    const tokens = encodeCount(profile.encoding, text);
    committed += tokens;
    exactChars += text.length;
    exactTokens += tokens;
  };
  /** Tokens per character of the first CALIBRATION_CHARS delivered, once known. */
  let ratio: number | undefined;
  /**
   * Counts the pending text up to its last token boundary within the first `limit` characters; with no boundary
   * there (text without spaces), up to `limit` itself, never inside a surrogate pair.
   */
  const commitUpTo = (limit: number): void => {
    const head = pending.length > limit ? pending.slice(0, limit) : pending;
    let cut = lastBoundary(head);
    if (cut <= 0 && head.length === limit) cut = isLowSurrogate(pending.charCodeAt(limit)) ? limit - 1 : limit;
    if (cut <= 0) return;
    commit(pending.slice(0, cut));
    pending = pending.slice(cut);
  };
  const scaled = (raw: number): number => Math.round(raw * profile.factor);
  return {
    add(text) {
      if (text.length > EXACT_CHARS_PER_ADD) {
        commit(pending);
        pending = '';
        commit(text.slice(0, EXACT_CHARS_PER_ADD));
        const observed = exactChars > 0 ? exactTokens / exactChars : DEFAULT_TOKENS_PER_CHAR;
        extrapolated += Math.ceil((text.length - EXACT_CHARS_PER_ADD) * observed);
        return;
      }
      pending += text;
      if (pending.length >= PENDING_CHARS) commitUpTo(EXACT_CHARS_PER_ADD);
    },
    get tokens() {
      if (pending.length > 0) commitUpTo(pending.length);
      return scaled(committed + extrapolated + encodeCount(profile.encoding, pending));
    },
    get estimate() {
      if (ratio === undefined && exactChars >= CALIBRATION_CHARS) ratio = exactTokens / exactChars;
      if (ratio === undefined) {
        // Short so far: no tokenizer work (a running figure is asked for every 50 ms of a stream, and a call into
        // tiktoken costs more than the rest of a chunk); the default ratio until CALIBRATION_CHARS have arrived.
        if (exactChars + pending.length < CALIBRATION_CHARS) return scaled(committed + extrapolated + Math.ceil(pending.length * DEFAULT_TOKENS_PER_CHAR));
        const sample = pending.slice(0, CALIBRATION_CHARS);
        ratio = encodeCount(profile.encoding, sample) / sample.length;
      }
      return scaled(committed + extrapolated + Math.ceil(pending.length * ratio));
    },
  };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function lastBoundary(text: string): number {
  for (let index = text.length - 1; index > 0; index -= 1) {
    const char = text[index];
    if ((char === ' ' || char === '\n') && !isSpace(text[index - 1])) return index;
  }
  return text.length > PENDING_CHARS ? text.length : 0;
}

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\n' || char === '\t' || char === '\r';
}
