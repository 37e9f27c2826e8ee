/**
 * TLS for the ext_proc gRPC listener: a certificate and key (PEM files), and optionally a client CA, which turns
 * on mutual TLS (a client without a certificate signed by that CA is refused during the handshake).
 *
 * The files are followed (src/config/watch.ts: their directories, so renames and Kubernetes Secret `..data`
 * swaps are seen) and re-read on change. A new set is checked with tls.createSecureContext before it replaces
 * the old one for new connections; a set that does not load (a half-written file, a key that does not match)
 * is logged once per distinct failure and the old set keeps serving.
 *
 * The credentials extend grpc-js's ServerCredentials and push new secure-context options through its watcher
 * mechanism (the server calls setSecureContext), which is how grpc-js's own certificate-provider credentials
 * reload. They are not used directly because `createCertificateProviderServerCredentials` in grpc-js 1.14
 * passes its two provider arguments to the constructor in the opposite order to its declared types.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FileSetWatcher } from '../config/watch.js';
import type { Logger } from '../logging.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Require client certificates signed by this CA (mutual TLS). */
  readonly clientCaFile?: string;
}

export type TlsReloadOutcome = 'applied' | 'unchanged' | 'rejected';

export interface TlsListener {
  readonly credentials: grpc.ServerCredentials;
  /** Called after each reload attempt (tests wait on it). Returns a function that unsubscribes. */
  onReload(listener: (outcome: TlsReloadOutcome) => void): () => void;
  close(): void;
}

const DEBOUNCE_MS = 100;

/** Thrown when the files cannot be read or loaded at start. */
export class TlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(mutual: boolean, options: SecureContextOptions) {
    super({ requestCert: mutual, rejectUnauthorized: mutual }, options);
  }

  /** New options for new connections (the server calls setSecureContext). */
  replace(options: SecureContextOptions): void {
    this.updateSecureContextOptions(options);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

async function readOptions(files: TlsFiles): Promise<{ options: SecureContextOptions; fingerprint: string }> {
  const read = (path: string, what: string) =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new TlsError(`cannot read the TLS ${what} ${path}: ${error.code ?? String(error)}`);
    });
  const [cert, key, ca] = await Promise.all([read(files.certFile, 'certificate'), read(files.keyFile, 'key'), files.clientCaFile ? read(files.clientCaFile, 'client CA') : undefined]);
  const options: SecureContextOptions = ca ? { cert, key, ca } : { cert, key };
  try {
    createSecureContext(options);
  } catch (error) {
    // OpenSSL's reason (e.g. "key values mismatch"); it names no key material.
    throw new TlsError(`the TLS certificate and key do not load: ${(error as Error).message}`);
  }
  return { options, fingerprint: Buffer.concat([cert, Buffer.from('\0'), key, Buffer.from('\0'), ca ?? Buffer.alloc(0)]).toString('base64') };
}

/** Loads the files (throws TlsError when they do not load) and follows them. */
export async function createTlsListener(files: TlsFiles, logger: Logger): Promise<TlsListener> {
  const absolute: TlsFiles = {
    certFile: resolve(files.certFile),
    keyFile: resolve(files.keyFile),
    ...(files.clientCaFile ? { clientCaFile: resolve(files.clientCaFile) } : {}),
  };
  const initial = await readOptions(absolute);
  const credentials = new ReloadableServerCredentials(absolute.clientCaFile !== undefined, initial.options);
  let fingerprint = initial.fingerprint;
  let lastFailure: string | undefined;
  const listeners = new Set<(outcome: TlsReloadOutcome) => void>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    let outcome: TlsReloadOutcome;
    try {
      const next = await readOptions(absolute);
      lastFailure = undefined;
      if (next.fingerprint === fingerprint) outcome = 'unchanged';
      else {
        fingerprint = next.fingerprint;
        credentials.replace(next.options);
        logger.info({ cert: absolute.certFile, mutual: absolute.clientCaFile !== undefined }, 'TLS certificates reloaded');
        outcome = 'applied';
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastFailure) logger.error({ cert: absolute.certFile, error: message }, 'TLS reload failed; keeping the previous certificates');
      lastFailure = message;
      outcome = 'rejected';
    }
    if (closed) return;
    for (const listener of listeners) listener(outcome);
  };
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = reload().finally(() => {
      running = undefined;
      if (again && !closed) {
        again = false;
        run();
      }
    });
  };
  const watcher = new FileSetWatcher({
    onChange: () => {
      if (closed) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    },
    onProblem: (message, directory) => logger.warn({ directory }, `TLS file watch: ${message}`),
  });
  await watcher.setFiles([absolute.certFile, absolute.keyFile, ...(absolute.clientCaFile ? [absolute.clientCaFile] : [])]);
  return {
    credentials,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
      listeners.clear();
    },
  };
}
