#!/usr/bin/env node
// Makes sure a Chromium binary is there for the browser tests (widget and end-to-end).
// Playwright's own browser download cannot be used (no network but the package registries), so
// the tests drive Debian's `chromium` package at /usr/bin/chromium, or whatever CHROMIUM_PATH names.
// Idempotent: when Chromium is already there it does nothing and exits 0.
// Exit 1 (with a message saying how to install it) when it is missing and cannot be installed.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const DEFAULT_PATH = '/usr/bin/chromium';

function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return null;
}

function howToInstall(reason) {
  console.error(
    [
      `ensure-chromium: Chromium is needed for the browser tests: ${reason}.`,
      '  Install it as root on Debian/Ubuntu: apt-get update && apt-get install -y chromium',
      `  or point CHROMIUM_PATH at an existing Chromium/Chrome executable (default: ${DEFAULT_PATH}).`,
    ].join('\n'),
  );
  process.exit(1);
}

const fromEnv = process.env.CHROMIUM_PATH;
if (fromEnv) {
  if (isExecutableFile(fromEnv)) process.exit(0);
  console.warn(`ensure-chromium: CHROMIUM_PATH=${fromEnv} is not an executable file; looking for ${DEFAULT_PATH} instead.`);
}
if (isExecutableFile(DEFAULT_PATH)) process.exit(0);

const aptGet = which('apt-get');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) howToInstall(`${DEFAULT_PATH} is missing and this is not root (cannot apt-get install)`);
if (!aptGet) howToInstall(`${DEFAULT_PATH} is missing and apt-get is not available`);

console.log(`ensure-chromium: ${DEFAULT_PATH} is missing; installing Debian's chromium package with apt-get (one-time).`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Wait for another apt/dpkg process holding the lock instead of failing at once.
const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];

function run(args) {
  const result = spawnSync(aptGet, [...lockWait, ...args], { env, stdio: 'inherit' });
  if (result.error) return `could not run apt-get (${result.error.message})`;
  if (result.status !== 0) return `apt-get ${args.join(' ')} exited with ${result.status ?? result.signal}`;
  return null;
}

const updateError = run(['update', '-q']);
if (updateError) howToInstall(updateError);
const installError = run(['install', '-y', '-q', 'chromium']);
if (installError) howToInstall(installError);
if (!isExecutableFile(DEFAULT_PATH)) howToInstall(`apt-get install chromium finished, yet ${DEFAULT_PATH} is still missing`);
console.log(`ensure-chromium: installed ${DEFAULT_PATH}.`);
