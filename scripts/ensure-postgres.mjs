#!/usr/bin/env node
// Makes sure PostgreSQL answers on 127.0.0.1:5432 with a database `test`, for the tests that run
// the relay on PostgreSQL (the store conformance suite, two relay instances on one database).
// Idempotent: uses the server already running; starts an installed but stopped cluster; installs
// Debian's postgresql (as root) where it is missing and lets local TCP connections in without a
// password (trust, as on CI), since it is a throw-away test server.
// Where none of that is possible it says why and exits 0: the PostgreSQL tests then skip with that
// reason, except under CI=true, where they fail.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const HOST = '127.0.0.1';
const PORT = '5432';

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(), missing: result.error?.code === 'ENOENT' };
}

const ready = () => run('pg_isready', ['-h', HOST, '-p', PORT, '-t', '3']).ok;
const psql = (sql, database = 'postgres') => run('psql', ['-h', HOST, '-p', PORT, '-U', 'postgres', '-d', database, '-tAc', sql]);
const asPostgres = (sql) => run('su', ['postgres', '-c', `psql -tAc "${sql}"`]);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function giveUp(reason) {
  console.warn(`ensure-postgres: ${reason}.`);
  console.warn('  The PostgreSQL tests will be skipped (and fail under CI). To run them: install PostgreSQL');
  console.warn('  (apt-get install postgresql), or set STK_PAY_TEST_DATABASE_URL=postgres://user:pass@host:5432/db.');
  process.exit(0);
}

function clusters() {
  if (!existsSync('/etc/postgresql')) return [];
  return readdirSync('/etc/postgresql').flatMap((version) =>
    existsSync(`/etc/postgresql/${version}`) ? readdirSync(`/etc/postgresql/${version}`).map((name) => ({ version, name })) : [],
  );
}

function start() {
  for (const { version, name } of clusters()) {
    console.log(`ensure-postgres: starting PostgreSQL ${version}/${name}`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start'], { stdio: 'inherit' });
  }
  for (let i = 0; i < 30 && !ready(); i++) spawnSync('sleep', ['1']);
}

/** A freshly installed cluster asks TCP clients for a password; a test server lets local ones in. */
function trustLocalTcp() {
  for (const { version, name } of clusters()) {
    const hba = `/etc/postgresql/${version}/${name}/pg_hba.conf`;
    const text = readFileSync(hba, 'utf8');
    if (!text.includes('# stk-pay tests')) {
      writeFileSync(hba, `# stk-pay tests: local TCP without password\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n${text}`);
    }
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'reload']);
  }
}

if (process.env.STK_PAY_TEST_DATABASE_URL) process.exit(0);

let installedNow = false;
if (!ready()) {
  if (clusters().length > 0 && isRoot) start();
  if (!ready()) {
    if (!isRoot) giveUp(`nothing answers on ${HOST}:${PORT} and this is not root (cannot install or start it)`);
    if (run('apt-get', ['--version']).missing) giveUp(`nothing answers on ${HOST}:${PORT} and apt-get is not available`);
    if (clusters().length === 0) {
      console.log('ensure-postgres: PostgreSQL is missing; installing Debian\'s postgresql');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update'], { stdio: 'inherit', env });
      const install = run('apt-get', ['install', '-y', 'postgresql'], { stdio: 'inherit', env });
      if (!install.ok) giveUp('apt-get install postgresql failed');
      installedNow = true;
    }
    start();
    if (!ready()) giveUp(`PostgreSQL did not come up on ${HOST}:${PORT}`);
  }
}
if (installedNow) trustLocalTcp();

let probe = psql('select 1');
if (!probe.ok && isRoot && /password|authentication/i.test(probe.out)) {
  giveUp(`PostgreSQL on ${HOST}:${PORT} wants a password for user postgres (${probe.out.split('\n')[0]})`);
}
if (!probe.ok) giveUp(`cannot connect as postgres: ${probe.out.split('\n')[0]}`);
if (psql("select 1 from pg_database where datname = 'test'").out !== '1') {
  const created = psql('create database test');
  if (!created.ok && isRoot) asPostgres('create database test');
}
probe = psql('select 1', 'test');
if (!probe.ok) giveUp(`database test cannot be used: ${probe.out.split('\n')[0]}`);
console.log(`ensure-postgres: PostgreSQL ready on ${HOST}:${PORT}, database test`);
