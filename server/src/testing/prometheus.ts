/** Reads figures out of Prometheus text, for tests of `/metrics`. */

/** The labels of every series of `name` in `text`, with their values. */
export function seriesOf(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const series: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1]!, label[2]!]));
    series.push({ labels, value: Number(match[3]) });
  }
  return series;
}

/** The value of the series of `name` with exactly these labels; undefined when there is none. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return seriesOf(text, name).find((series) => JSON.stringify(Object.entries(series.labels).sort()) === wanted)?.value;
}
