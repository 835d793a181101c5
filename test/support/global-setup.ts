/**
 * Last-resort cleanup: relay-process.ts writes one file per relay it spawns into this directory
 * (named by pid) and removes it once the relay is gone. Whatever is left at teardown (a worker that
 * crashed or was killed before its afterAll) is killed here, so no relay outlives the test run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'stk-pay-e2e-pids-'));
  project.provide('relayPidDir', dir);
  return () => {
    for (const name of readdirSync(dir)) {
      const pid = Number(name);
      const cli = readFileSync(join(dir, name), 'utf8');
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // already gone
      }
      // Only a process that is still our relay (the pid was not reused by something else).
      if (Number.isInteger(pid) && cmdline.includes(cli)) {
        console.warn(`e2e teardown: killing relay pid ${pid} that a test left running`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
