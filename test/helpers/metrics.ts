// Reading a Prometheus text exposition in tests: the sum of the series of one metric
// whose labels include the given ones.
export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const head = line.slice(0, space);
    const brace = head.indexOf('{');
    const labels: Record<string, string> = {};
    for (const [, key, value] of (brace === -1 ? '' : head.slice(brace + 1, -1)).matchAll(LABEL)) labels[key!] = value!;
    series.push({ name: brace === -1 ? head : head.slice(0, brace), labels, value: Number(line.slice(space + 1)) });
  }
  return series;
}

/** The sum over the series of `name` carrying every label in `labels`; 0 when there is none. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseExposition(text)
    .filter((series) => series.name === name && Object.entries(labels).every(([key, value]) => series.labels[key] === value))
    .reduce((sum, series) => sum + series.value, 0);
}
