/**
 * The shipped service in a child process (the `npm start` command line, test/process/product.ts) behind the Envoy
 * stand-in of this process: for measurements that must see only the service (its RSS, its event loop), with the
 * stand-in and the mock upstreams' own work kept out of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { startEnvoy, type EnvoyStandIn } from '../envoy/envoy.js';
import { loadTestConfig } from '../helpers/gateway-harness.js';
import { startProduct, type Product } from '../process/product.js';

export interface ChildGateway {
  /** The stand-in's root URL: http://127.0.0.1:PORT */
  readonly url: string;
  readonly envoy: EnvoyStandIn;
  readonly product: Product;
  readonly pid: number;
  close(): Promise<void>;
}

export async function startChildGateway(options: { configYaml: string; upstreams: Record<string, string>; env?: Record<string, string> }): Promise<ChildGateway> {
  const product = await startProduct({ configYaml: options.configYaml, env: options.env });
  const pid = product.pid;
  if (pid === undefined) throw new Error('the product has no pid');
  const config = await loadTestConfig(options.configYaml, options.env);
  // The stand-in buffers up to 64 MiB (Envoy's buffer in the shipped config is sized from the limits).
  const envoy = await startEnvoy({ config, extProc: product.grpcAddress, upstreams: options.upstreams, gracefulClose: true, bufferLimitBytes: 64 * 1024 * 1024 });
  return {
    url: envoy.url,
    envoy,
    product,
    pid,
    async close() {
      await envoy.close();
      await product.stop('SIGTERM');
    },
  };
}

/** Linux only: the child's memory from /proc/<pid>/status, in bytes. */
export interface ProcessMemory {
  /** Resident set size now. */
  readonly rss: number;
  /** Peak resident set size since the start, or since resetPeakRss. */
  readonly peak: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Resets the peak (VmHWM) to the current RSS: clear_refs 5, which a process may write for its own children. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
