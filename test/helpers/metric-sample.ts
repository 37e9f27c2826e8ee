/** Reading Prometheus text exposition in tests. */

/** The value of the sample `name` whose labels include all of `labels` (any order); undefined when there is none. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const present = new Map([...body.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]));
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
