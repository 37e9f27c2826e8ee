/**
 * Routes and host selection: the route is matched on `x-ai-eg-model` (upstreamFilter: true; one priority list
 * of the model's backends) or `x-ai-eg-backend` (upstreamFilter: false; that backend alone). Anything else hits
 * the catch-all direct_response 404. Retries move to the next priority (previous_priorities, update_frequency 1):
 * attempted priorities are excluded until none is left, then the exclusion resets.
 */
import type { RuntimeConfig } from '../../src/config/load.js';
import type { HeaderMap } from './header-map.js';

/** A small seeded PRNG (mulberry32) so weighted picks are reproducible. */
export { createRandom as seededRandom } from '../helpers/chunking.js';

export interface RouteTarget {
  backend: string;
  priority: number;
  weight: number;
}

export interface Route {
  /** The model name, or the backend name in router-only mode. */
  name: string;
  targets: RouteTarget[];
}

export function resolveRoute(config: RuntimeConfig, headers: HeaderMap): Route | undefined {
  if (config.file.envoy.upstreamFilter) {
    const model = headers.get('x-ai-eg-model');
    const modelConfig = model === undefined ? undefined : config.models.get(model);
    if (!model || !modelConfig) return undefined;
    const targets = modelConfig.backends
      .filter((ref) => ref.weight > 0)
      .map((ref) => ({ backend: ref.backend, priority: ref.priority, weight: ref.weight }));
    return targets.length > 0 ? { name: model, targets } : undefined;
  }
  const backend = headers.get('x-ai-eg-backend');
  if (!backend || !config.backends.has(backend)) return undefined;
  return { name: backend, targets: [{ backend, priority: 0, weight: 1 }] };
}

export function priorityCount(route: Route): number {
  return new Set(route.targets.map((target) => target.priority)).size;
}

/** Picks the attempt's host: lowest priority not yet attempted, weighted within it. */
export function pickTarget(route: Route, attempted: Set<number>, random: () => number): RouteTarget {
  const priorities = [...new Set(route.targets.map((target) => target.priority))].sort((a, b) => a - b);
  let candidates = priorities.filter((priority) => !attempted.has(priority));
  if (candidates.length === 0) {
    attempted.clear();
    candidates = priorities;
  }
  const priority = candidates[0] ?? 0;
  const group = route.targets.filter((target) => target.priority === priority);
  const total = group.reduce((sum, target) => sum + target.weight, 0);
  let point = random() * total;
  for (const target of group) {
    point -= target.weight;
    if (point < 0) return target;
  }
  const last = group[group.length - 1];
  if (!last) throw new Error(`route ${route.name} has no targets`);
  return last;
}
