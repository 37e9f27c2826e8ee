/**
 * Structured JSON logging (pino) that never writes a credential. Credential-bearing
 * fields are censored wherever they appear in a logged object: by name for the known
 * header names, by substring ("secret", "token", "password", "apikey") for everything
 * else, inside header maps in any shape (record, [name, value] pairs, Envoy
 * {key, value, raw_value} entries), and Bearer/Basic credentials inside strings. Besides, every string is
 * scrubbed of the backend credentials the service knows ({@link LogSecrets}: the config's values, and the
 * values requests in flight sent), whatever field or message they turn up in.
 */
import { destination, levels, pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { REDACTED, SecretScrubber } from './core/secret-scrubber.js';

export type Logger = PinoLogger;

export { REDACTED };

/** Header names whose value is always a credential. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
]);

const CREDENTIAL_SUBSTRINGS = ['secret', 'token', 'password', 'apikey'];
const MAX_DEPTH = 8;
const CREDENTIAL_IN_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** True when a field or header of this name holds a credential. */
export function isCredentialKey(name: string): boolean {
  const lower = name.toLowerCase();
  if (CREDENTIAL_HEADERS.has(lower)) return true;
  const compact = lower.replace(/[-_\s]/g, '');
  // Token counts ("inputTokens", "max_tokens") are numbers, not credentials.
  if (compact.includes('tokens')) return false;
  return CREDENTIAL_SUBSTRINGS.some((part) => compact.includes(part));
}

/** Censors Bearer/Basic credentials inside free text. */
export function redactText(text: string): string {
  return text.replace(CREDENTIAL_IN_TEXT, (_match, scheme: string) => `${scheme} ${REDACTED}`);
}

/**
 * The credential values a logger scrubs from every string it writes: the config's backend secrets (replaced on
 * each reload) and the values requests in flight sent upstream (held while the request runs).
 */
export class LogSecrets {
  private configured = new Set<string>();
  private readonly live = new Map<string, number>();
  private scrubber: SecretScrubber | undefined;

  /** The current config's secrets (replaces the previous config's). */
  setConfigured(values: Iterable<string>): void {
    this.configured = new Set(values);
    this.scrubber = undefined;
  }

  /** Values a request in flight sent; scrubbed until the returned function is called (once). */
  hold(values: Iterable<string>): () => void {
    const held = [...values].filter((value) => !this.configured.has(value));
    if (held.length === 0) return () => undefined;
    for (const value of held) this.live.set(value, (this.live.get(value) ?? 0) + 1);
    this.scrubber = undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const value of held) {
        const count = (this.live.get(value) ?? 1) - 1;
        if (count <= 0) this.live.delete(value);
        else this.live.set(value, count);
      }
      this.scrubber = undefined;
    };
  }

  /** How many values are held for requests in flight (tests). */
  get liveCount(): number {
    return this.live.size;
  }

  scrub(text: string): string {
    if (this.configured.size === 0 && this.live.size === 0) return text;
    this.scrubber ??= new SecretScrubber([...this.configured, ...this.live.keys()]);
    return this.scrubber.scrubText(text);
  }
}

const LOG_SECRETS = Symbol('llm-extproc.logSecrets');

/** The secrets a logger made by createLogger scrubs (undefined for any other logger). */
export function logSecretsOf(logger: Logger): LogSecrets | undefined {
  return (logger as unknown as { [LOG_SECRETS]?: LogSecrets })[LOG_SECRETS];
}

type TextCensor = (text: string) => string;
const plainText: TextCensor = redactText;

type HeaderLike =
  | Readonly<Record<string, unknown>>
  | ReadonlyArray<readonly [string, unknown]>
  | ReadonlyArray<{ key?: string; value?: unknown; raw_value?: unknown }>
  | ReadonlyMap<string, unknown>;

/** A copy of a header map, in the same shape, with credential values censored. */
export function redactHeaders(headers: HeaderLike): unknown {
  return redactValue(headers, 0, '', plainText);
}

function redactValue(value: unknown, depth: number, key: string, text: TextCensor): unknown {
  if (key !== '' && isCredentialKey(key) && !isCount(value)) return REDACTED;
  if (typeof value === 'string') return text(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[depth]';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (value instanceof Error) return redactError(value, depth, text);
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [name, item] of value) out.set(name, redactValue(item, depth + 1, typeof name === 'string' ? name : '', text));
    return out;
  }
  if (Array.isArray(value)) {
    if (value.length === 2 && typeof value[0] === 'string' && isCredentialKey(value[0]) && !isCount(value[1])) {
      return [value[0], REDACTED];
    }
    return value.map((item) => redactValue(item, depth + 1, '', text));
  }
  const record = value as Record<string, unknown>;
  if (typeof record['toJSON'] === 'function') return redactValue((record['toJSON'] as () => unknown)(), depth, '', text);
  const entryName = typeof record['key'] === 'string' ? record['key'] : undefined;
  const sensitiveEntry = entryName !== undefined && isCredentialKey(entryName);
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(record)) {
    out[name] = sensitiveEntry && (name === 'value' || name === 'raw_value') ? REDACTED : redactValue(item, depth + 1, name, text);
  }
  return out;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined;
}

function redactError(error: Error, depth: number, text: TextCensor): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.name,
    message: text(error.message),
    stack: error.stack === undefined ? undefined : text(error.stack),
  };
  for (const [name, item] of Object.entries(error)) out[name] = redactValue(item, depth + 1, name, text);
  if (error.cause !== undefined) out['cause'] = redactValue(error.cause, depth + 1, '', text);
  return out;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL, else 'info'. 'silent' turns logging off. */
  level?: string;
  /** Where JSON lines go (default stdout). Tests pass a stream to capture output. */
  destination?: DestinationStream;
  /** Bound into every line. */
  base?: Record<string, unknown>;
}

/** Paths pino censors itself, as a second line of defence. */
const REDACT_PATHS = [...CREDENTIAL_HEADERS].flatMap((name) => [
  `headers["${name}"]`,
  `*.headers["${name}"]`,
  `req.headers["${name}"]`,
]);

export function createLogger(options: LoggerOptions = {}): Logger {
  const requested = options.level ?? (process.env['LOG_LEVEL'] || 'info');
  // An unknown LOG_LEVEL must not stop the service from starting.
  const level = requested === 'silent' || requested in levels.values ? requested : 'info';
  const secrets = new LogSecrets();
  const censor: TextCensor = (text) => secrets.scrub(redactText(text));
  const logger = pino(
    {
      level,
      base: options.base ?? { service: 'llm-extproc' },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: {
        log: (object) => redactValue(object, 0, '', censor) as Record<string, unknown>,
      },
      // The log formatter has already turned errors into censored plain objects.
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const cleaned: unknown[] = args.map((arg) => (typeof arg === 'string' ? censor(arg) : arg));
          const first = cleaned[0];
          if (first instanceof Error) {
            cleaned[0] = { err: first };
            if (typeof cleaned[1] !== 'string') cleaned.splice(1, 0, censor(first.message));
          }
          method.apply(this, cleaned as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? destination({ sync: false }),
  );
  Object.defineProperty(logger, LOG_SECRETS, { value: secrets });
  return logger;
}
