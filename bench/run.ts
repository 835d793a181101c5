/**
 * `pnpm bench`: every benchmark under bench/, one table. Each figure comes with a baseline
 * measured in the same run on the same machine, and their ratio; timings are never asserted in
 * tests (the machine is shared and noisy). The table and the machine's description replace the
 * measured part of bench/RESULTS.md.
 *
 * `pnpm bench size throughput sse browser` runs only the named ones (all by default), and prints
 * their table without writing bench/RESULTS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserLatency } from './browser-latency.js';
import { repoRoot } from './lib/processes.js';
import { describeMachine, markdownTable, table, type Row } from './lib/results.js';
import { sseScale } from './sse-scale.js';
import { throughput } from './throughput.js';
import { widgetSize } from './widget-size.js';

const BENCHMARKS: Record<string, { title: string; run: () => Row[] | Promise<Row[]> }> = {
  size: { title: 'Widget size against the anchors', run: widgetSize },
  throughput: { title: 'Relay throughput (autocannon)', run: throughput },
  sse: { title: 'SSE scale', run: sseScale },
  browser: { title: 'Callback to widget, in Chromium', run: browserLatency },
};

const RESULTS = join(repoRoot, 'bench', 'RESULTS.md');
const START = '<!-- measured: written by pnpm bench -->';
const END = '<!-- end of measured -->';

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((arg) => arg !== '--');
  const unknown = asked.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);
  const machine = describeMachine();
  const started = new Date();
  console.log(machine.join('\n'));
  const rows: Row[] = [];
  for (const name of names) {
    const benchmark = BENCHMARKS[name]!;
    console.log(`\n${benchmark.title}`);
    const t0 = Date.now();
    rows.push(...(await benchmark.run()));
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  console.log(`\n${table(rows)}\n`);
  if (asked.length > 0) {
    console.log('(a partial run: bench/RESULTS.md is written by a run of every benchmark only)');
    return;
  }

  const measured = [
    START,
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`pnpm bench\` on:`,
    '',
    ...machine.map((line) => `- ${line}`),
    '',
    markdownTable(rows),
    END,
  ].join('\n');
  let text = readFileSync(RESULTS, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  text = from >= 0 && to > from ? text.slice(0, from) + measured + text.slice(to + END.length) : `${text.trimEnd()}\n\n${measured}\n`;
  writeFileSync(RESULTS, text);
  console.log(`written to ${RESULTS}`);
}

await main();
