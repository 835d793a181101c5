#!/usr/bin/env node
// Runs every package's tests (one package at a time: the browser and end-to-end suites start real
// processes), passes their output through, and ends with one plain total line,
// "N passed, N failed", added up from vitest, @web/test-runner and node's test runner.
import { spawn } from 'node:child_process';

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
let passed = 0;
let failed = 0;
let skipped = 0;

function count(line) {
  const plain = line.replace(ANSI, '');
  // vitest: "      Tests  12 passed | 1 skipped (13)" or "Tests  1 failed | 11 passed (12)"
  const vitest = /^\s*Tests\s+(.*)\(\d+\)\s*$/.exec(plain);
  if (vitest) {
    for (const [, n, kind] of vitest[1].matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
      if (kind === 'passed') passed += Number(n);
      else if (kind === 'failed') failed += Number(n);
      else skipped += Number(n);
    }
    return;
  }
  // @web/test-runner's final progress line: "Chrome: |████| 5/5 test files | 63 passed, 0 failed"
  const wtr = /test files \| (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(plain);
  if (wtr && /Finished|\d+\/\d+ test files/.test(plain)) {
    lastWtr = { passed: Number(wtr[1]), failed: Number(wtr[2]), skipped: Number(wtr[3] ?? 0) };
    return;
  }
  // node --test: "ℹ pass 2" / "# pass 2"
  const node = /^[#ℹ]\s+(pass|fail|skipped)\s+(\d+)\s*$/.exec(plain.trim());
  if (node) {
    if (node[1] === 'pass') passed += Number(node[2]);
    else if (node[1] === 'fail') failed += Number(node[2]);
    else skipped += Number(node[2]);
  }
}

// @web/test-runner redraws its progress line; only its last one per run counts.
let lastWtr;
const child = spawn('pnpm', ['-r', '--workspace-concurrency=1', 'test'], { stdio: ['ignore', 'pipe', 'pipe'] });
let pending = '';
const feed = (chunk, sink) => {
  sink.write(chunk);
  pending += chunk.toString('utf8');
  const lines = pending.split(/\r?\n|\r/);
  pending = lines.pop() ?? '';
  for (const line of lines) count(line);
};
child.stdout.on('data', (chunk) => feed(chunk, process.stdout));
child.stderr.on('data', (chunk) => feed(chunk, process.stderr));
child.on('close', (code) => {
  if (pending) count(pending);
  if (lastWtr) {
    passed += lastWtr.passed;
    failed += lastWtr.failed;
    skipped += lastWtr.skipped;
  }
  if (code !== 0 && failed === 0) failed = 1; // a runner that crashed before reporting
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});
