/**
 * Sums a V8 .cpuprofile (what `node --cpu-prof` writes) into self time per function: each sample's time delta
 * goes to the node it hit, and nodes are grouped by function name, script and line, so the same function reached
 * through different call paths counts once. Samples can be limited to a time window: a profile's timestamps are
 * CLOCK_MONOTONIC microseconds, the clock of process.hrtime in any process on the machine, so the bench passes
 * the window of its measured load and start-up and shutdown drop out.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileFrame {
  /** "functionName file:line". */
  readonly frame: string;
  readonly selfMs: number;
  /** Share of the busy time (all samples except "(idle)"). */
  readonly percentOfBusy: number;
}

export interface ProfileSummary {
  readonly scenario: string;
  readonly file: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly top: readonly ProfileFrame[];
  /** Self time per script (a package under node_modules, a dist/ file, node internals, "(gc)" and the like). */
  readonly topScripts: readonly ProfileFrame[];
}

/** Monotonic microseconds (process.hrtime.bigint() / 1000). */
export interface ProfileWindow {
  readonly fromMicros: number;
  readonly toMicros: number;
}

/** Now, on the clock .cpuprofile timestamps use. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A script URL as a short path: node_modules/<pkg>/..., dist/..., node:internal... */
function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inModules = path.lastIndexOf('node_modules/');
  if (inModules >= 0) return path.slice(inModules);
  return path.startsWith('/') ? relative(REPO_ROOT, path) : path;
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  return url === '' ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

/** Self time per frame, largest first; `top` frames kept. */
/** Where a frame's code lives: node_modules/<package>, a dist/ file, "node:internal", or the frame itself. */
function scriptOf(node: CpuProfileNode): string {
  const url = node.callFrame.url;
  if (url === '') return frameName(node);
  const path = shortUrl(url);
  const inModules = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules) return `node_modules/${inModules[1]}`;
  if (path.startsWith('node:')) return 'node: (internals)';
  return path;
}

function ranked(micros: Map<string, number>, busyUs: number, top: number): ProfileFrame[] {
  return [...micros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, value]) => ({ frame, selfMs: value / 1000, percentOfBusy: busyUs > 0 ? (100 * value) / busyUs : 0 }));
}

export function summariseProfile(profile: CpuProfile, top = 15, window?: ProfileWindow): { busyMs: number; idleMs: number; top: ProfileFrame[]; topScripts: ProfileFrame[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const scriptUs = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the delta to the next one.
  let timestamp = profile.startTime;
  for (const [index, id] of samples.entries()) {
    timestamp += deltas[index] ?? 0;
    if (window && (timestamp < window.fromMicros || timestamp > window.toMicros)) continue;
    const node = byId.get(id);
    if (!node) continue;
    const micros = deltas[index + 1] ?? 0;
    const name = frameName(node);
    selfUs.set(name, (selfUs.get(name) ?? 0) + Math.max(0, micros));
    const script = scriptOf(node);
    scriptUs.set(script, (scriptUs.get(script) ?? 0) + Math.max(0, micros));
  }
  const idleUs = selfUs.get('(idle)') ?? 0;
  selfUs.delete('(idle)');
  scriptUs.delete('(idle)');
  const busyUs = [...selfUs.values()].reduce((sum, value) => sum + value, 0);
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, top: ranked(selfUs, busyUs, top), topScripts: ranked(scriptUs, busyUs, 10) };
}

export function summariseProfileFile(scenario: string, file: string, window?: ProfileWindow, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  return { scenario, file, ...summariseProfile(profile, top, window) };
}

export function formatProfile(summary: ProfileSummary): string {
  const line = (frame: ProfileFrame) => `  ${frame.percentOfBusy.toFixed(1).padStart(5)} %  ${frame.selfMs.toFixed(0).padStart(6)} ms  ${frame.frame}`;
  return [
    `${summary.scenario}: busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms (${summary.file})`,
    '  top self-time frames:',
    ...summary.top.map(line),
    '  self time by script:',
    ...summary.topScripts.map(line),
  ].join('\n');
}
