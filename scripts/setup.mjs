#!/usr/bin/env node
// Installs the workspace's dependencies when they are missing or older than the lockfile.
// better-sqlite3 12 compiles its native module where no prebuilt binary can be fetched; on
// machines that ship Node's headers under /usr (Debian's nodejs), node-gyp must be pointed at
// them through the environment (an .npmrc setting is not enough), so this sets it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockfile = join(root, 'pnpm-lock.yaml');
const stamp = join(root, 'node_modules', '.stk-pay-installed');

function fingerprint() {
  const hash = createHash('sha256');
  for (const file of ['pnpm-lock.yaml', 'package.json', 'server/package.json', 'widget/package.json', 'test/package.json', 'bot/package.json', 'bench/package.json']) {
    const path = join(root, file);
    if (existsSync(path)) hash.update(file).update(readFileSync(path));
  }
  return hash.digest('hex');
}

const wanted = fingerprint();
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted && !process.argv.includes('--force')) {
  process.exit(0);
}

const env = { ...process.env };
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

const args = ['install', ...(existsSync(lockfile) && (process.env.CI || statSync(lockfile).size > 0) ? ['--frozen-lockfile'] : [])];
console.log(`stk-pay: installing dependencies (pnpm ${args.join(' ')})${env.npm_config_nodedir ? ` with npm_config_nodedir=${env.npm_config_nodedir}` : ''}`);
const result = spawnSync('pnpm', args, { cwd: root, env, stdio: 'inherit' });
if (result.error) {
  console.error(`stk-pay: could not run pnpm (${result.error.message}). Install it with: npm i -g pnpm@12.4.2`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(stamp, fingerprint());
