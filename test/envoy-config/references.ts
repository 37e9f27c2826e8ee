/**
 * Checks Envoy would make at startup that the proto schema cannot express: names that refer to each other
 * (route -> cluster, gRPC service -> cluster, typed_per_filter_config key -> HTTP filter), filter order, and
 * hits_addend shape (exactly one of number/format; a format is one %OPERATOR%).
 */
type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: Json): Json[] {
  return Array.isArray(value) ? value : [];
}

/** Every value under `key` anywhere in the tree, with its path. */
export function findAll(value: Json, key: string, path = ''): { path: string; value: Json }[] {
  const found: { path: string; value: Json }[] = [];
  if (Array.isArray(value)) value.forEach((item, index) => found.push(...findAll(item, key, `${path}[${index}]`)));
  else if (isObject(value)) {
    for (const [name, child] of Object.entries(value)) {
      const at = path ? `${path}.${name}` : name;
      if (name === key) found.push({ path: at, value: child });
      found.push(...findAll(child, key, at));
    }
  }
  return found;
}

export function checkReferences(bootstrap: Json): string[] {
  const errors: string[] = [];
  if (!isObject(bootstrap) || !isObject(bootstrap['static_resources'])) return ['static_resources missing'];
  const resources = bootstrap['static_resources'];
  const clusters = list(resources['clusters']).filter(isObject);
  const clusterNames = new Set(clusters.map((cluster) => cluster['name']));
  if (clusterNames.size !== clusters.length) errors.push('cluster names are not unique');

  for (const { path, value } of findAll(bootstrap, 'cluster_name')) {
    if (path.endsWith('load_assignment.cluster_name')) continue;
    if (!clusterNames.has(value)) errors.push(`${path}: cluster "${String(value)}" is not defined`);
  }
  for (const { path, value } of findAll(bootstrap, 'route')) {
    if (isObject(value) && typeof value['cluster'] === 'string' && !clusterNames.has(value['cluster'])) {
      errors.push(`${path}.cluster: cluster "${value['cluster']}" is not defined`);
    }
  }
  for (const cluster of clusters) {
    const assignment = cluster['load_assignment'];
    if (isObject(assignment) && assignment['cluster_name'] !== cluster['name']) {
      errors.push(`cluster ${String(cluster['name'])}: load_assignment.cluster_name differs`);
    }
    const options = cluster['typed_extension_protocol_options'];
    const http = isObject(options) ? options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] : undefined;
    const upstreamFilters = isObject(http) ? list(http['http_filters']).filter(isObject) : [];
    if (upstreamFilters.length > 0 && upstreamFilters.at(-1)?.['name'] !== 'envoy.filters.http.upstream_codec') {
      errors.push(`cluster ${String(cluster['name'])}: the last upstream HTTP filter must be envoy.filters.http.upstream_codec`);
    }
  }

  for (const { path, value } of findAll(bootstrap, 'http_filters')) {
    if (path.includes('typed_extension_protocol_options')) continue;
    const names = list(value).filter(isObject).map((filter) => filter['name']);
    if (names.at(-1) !== 'envoy.filters.http.router') errors.push(`${path}: the last filter must be envoy.filters.http.router`);
    const hcmPath = path.slice(0, -'.http_filters'.length);
    for (const perFilter of findAll(bootstrap, 'typed_per_filter_config').filter((entry) => entry.path.startsWith(hcmPath))) {
      for (const key of Object.keys(isObject(perFilter.value) ? perFilter.value : {})) {
        if (!names.includes(key)) errors.push(`${perFilter.path}: "${key}" names no HTTP filter of this connection manager`);
      }
    }
  }

  for (const { path, value } of findAll(bootstrap, 'hits_addend')) {
    if (!isObject(value)) continue;
    const hasNumber = value['number'] !== undefined;
    const format = value['format'];
    if (hasNumber === (format !== undefined)) errors.push(`${path}: exactly one of number and format`);
    if (typeof format === 'string' && !/^%[A-Z_]+(\([^%]*\))?(:\d+)?%$/.test(format)) {
      errors.push(`${path}.format: must be a single %OPERATOR% substitution, got ${format}`);
    }
    if (typeof value['number'] === 'number' && value['number'] > 1e9) errors.push(`${path}.number: at most 1e9`);
  }
  return errors;
}
