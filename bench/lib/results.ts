/** The benchmark's rows, the table it prints, and bench/RESULTS.md. */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, release, totalmem } from 'node:os';

export interface Row {
  /** Which benchmark (widget size, throughput, SSE scale, browser). */
  section: string;
  figure: string;
  value: number;
  baselineName: string;
  baseline: number;
  unit: string;
  /** Figure / baseline (for times and sizes: lower is better). */
  ratio: number;
  goal: string;
  /** Undefined where no goal is set (the figure is reported only). */
  met?: boolean;
  /** When value and baseline are medians of repeated runs: each run's pair, in order. */
  runs?: { value: number; baseline: number }[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Each run's figure and baseline: the medians of both (a row's `value` and `baseline`), each run's
 * pair (`runs`), and the median of each run's own ratio (`ratio`). The ratio is taken within each
 * run, against the baseline measured beside it, never between the two medians: those may come
 * from different runs, minutes apart on a shared machine.
 */
export function medianOfRuns(runs: { value: number; baseline: number }[]): { value: number; baseline: number; ratio: number; runs: { value: number; baseline: number }[] } {
  return {
    value: median(runs.map((run) => run.value)),
    baseline: median(runs.map((run) => run.baseline)),
    ratio: median(runs.map((run) => run.value / run.baseline)),
    runs,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'B') return `${Math.round(value).toLocaleString('en')} B`;
  if (unit === 'KB') return `${(value / 1024).toFixed(1)} KB`;
  if (unit === 'req/s') return `${Math.round(value).toLocaleString('en')} req/s`;
  if (unit === 'µs') return `${Math.round(value).toLocaleString('en')} µs`;
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  return `${value} ${unit}`;
}

const pad = (text: string, width: number) => text.padEnd(width);

export function table(rows: Row[]): string {
  const header = ['figure', 'value', 'baseline (same run)', 'ratio', 'goal', ''];
  const lines = rows.map((row) => [
    `${row.section}: ${row.figure}`,
    format(row.value, row.unit),
    `${row.baselineName} ${format(row.baseline, row.unit)}`,
    Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : 'n/a',
    row.goal,
    row.met === undefined ? '' : row.met ? 'met' : 'NOT MET',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  return [header, widths.map((w) => '-'.repeat(w)), ...lines].map((line) => line.map((cell, i) => pad(cell, widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function markdownTable(rows: Row[]): string {
  const lines = ['| figure | value | baseline (same run) | ratio | goal | |', '| --- | --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(
      `| ${row.section}: ${row.figure} | ${format(row.value, row.unit)} | ${row.baselineName} ${format(row.baseline, row.unit)} | ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : 'n/a'} | ${row.goal} | ${row.met === undefined ? '' : row.met ? 'met' : '**not met**'} |`,
    );
  }
  const repeated = rows.filter((row) => row.runs !== undefined && row.runs.length > 1);
  if (repeated.length > 0) {
    lines.push('', 'Figures marked "median of N runs": the value and the baseline are the medians of each, the ratio is the median of each run\'s own ratio; each run, ours / baseline (ratio):', '');
    for (const row of repeated) {
      lines.push(`- ${row.section}: ${row.figure}: ${row.runs!.map((run) => `${format(run.value, row.unit)} / ${format(run.baseline, row.unit)} (${(run.value / run.baseline).toFixed(2)}×)`).join('; ')}`);
    }
  }
  return lines.join('\n');
}

function tryRun(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** What the figures were measured on. */
export function describeMachine(): string[] {
  const cpu = cpus();
  const load = tryRun('cat', ['/proc/loadavg'])?.split(' ').slice(0, 3).join(' ');
  const postgres = tryRun('psql', ['--version']);
  const chromium = tryRun('/usr/bin/chromium', ['--version']);
  return [
    `CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the start)`,
    `Kernel: Linux ${release()}; Node.js ${process.version}`,
    ...(postgres ? [`PostgreSQL: ${postgres}`] : []),
    ...(chromium ? [`Browser: ${chromium}`] : []),
    ...(load ? [`Load average at the start: ${load}`] : []),
  ];
}
