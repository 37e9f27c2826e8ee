import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * Listen addresses as the CLI takes them: "host:port", "[v6]:port", or "unix:/path".
 * Errors are values, so the CLI can print them.
 */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export type ParsedAddress = { ok: true; address: ListenAddress } | { ok: false; error: string };

export function parseListenAddress(text: string): ParsedAddress {
  const input = text.trim();
  if (input.startsWith('unix:')) {
    const path = input.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path.startsWith('/')) return { ok: false, error: `"${text}": a unix socket path must be absolute (unix:/path)` };
    return { ok: true, address: { kind: 'unix', path } };
  }
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(input);
  if (bracketed) {
    host = bracketed[1] as string;
    portText = bracketed[2] as string;
  } else {
    const colon = input.lastIndexOf(':');
    if (colon <= 0) return { ok: false, error: `"${text}": expected host:port, [ipv6]:port or unix:/path` };
    host = input.slice(0, colon);
    portText = input.slice(colon + 1);
    if (host.includes(':')) return { ok: false, error: `"${text}": put an IPv6 address in brackets, e.g. [::1]:1063` };
  }
  if (!/^\d+$/.test(portText)) return { ok: false, error: `"${text}": port must be a number` };
  const port = Number(portText);
  if (port > 65535) return { ok: false, error: `"${text}": port must be 0-65535` };
  if (host === '' || /\s/.test(host)) return { ok: false, error: `"${text}": missing host` };
  return { ok: true, address: { kind: 'tcp', host, port } };
}

/** The form @grpc/grpc-js binds to: "unix:/path", "host:port" or "[v6]:port". */
export function grpcBindTarget(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Human form for logs, e.g. after binding port 0. */
export function formatListenAddress(address: ListenAddress): string {
  return grpcBindTarget(address);
}

/** A socket file left by a previous run (a restarted sidecar on a shared emptyDir) makes binding fail with EADDRINUSE. */
export async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch {
    // absent: nothing to remove
  }
}

/** A listen address and what sets it, for messages ("--listen", "envoy.listenPort in config.yaml"). */
export interface NamedListenAddress {
  readonly address: ListenAddress;
  readonly setBy: string;
}

/**
 * Checks, before anything real binds, that each TCP address can be bound: briefly listens on it and closes again.
 * Port 0 (any free port) and Unix sockets (a socket file left behind is replaced) are not probed; a Unix socket's
 * directory must exist. Returns one line per problem, naming the port and what sets it.
 */
export async function checkListenAddresses(entries: readonly NamedListenAddress[]): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { address, setBy } of entries) {
    if (address.kind === 'unix') {
      const directory = address.path.slice(0, address.path.lastIndexOf('/')) || '/';
      try {
        if (!(await stat(directory)).isDirectory()) problems.push(`${setBy}: ${directory} is not a directory, so unix:${address.path} cannot be created`);
      } catch {
        problems.push(`${setBy}: directory ${directory} does not exist, so unix:${address.path} cannot be created`);
      }
      continue;
    }
    if (address.port === 0) continue;
    const other = seen.get(String(address.port));
    if (other !== undefined) {
      problems.push(`port ${address.port} is given twice (${other} and ${setBy}); change one of them`);
      continue;
    }
    seen.set(String(address.port), setBy);
    const problem = await probe(address.host, address.port);
    if (problem === undefined) continue;
    problems.push(`port ${address.port} on ${address.host}: ${problem}; change it with ${setBy}`);
  }
  return problems;
}

function probe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(bindProblem(error)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** What a bind error means, in words. */
export function bindProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'already in use by another process';
    case 'EACCES':
      return 'binding it needs privileges (ports below 1024)';
    case 'EADDRNOTAVAIL':
      return 'that address is not one of this machine';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    default:
      return error.code ?? error.message;
  }
}

/** Mode of the service's Unix sockets: owner and group may connect (Envoy runs as the same user or group), no one else. */
export const SOCKET_MODE = 0o660;

/** Restricts a bound Unix socket to SOCKET_MODE. */
export async function restrictSocket(path: string): Promise<void> {
  await chmod(path, SOCKET_MODE);
}
