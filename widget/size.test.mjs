// The widget as a merchant's customers download it, Lit included, stays within its gzip budget
// (`sizeBudget.gzipBytes` in package.json). Built afresh from the sources with the root Vite
// config, so the figure is never that of a stale `dist/`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const { sizeBudget } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const outDir = mkdtempSync(join(tmpdir(), 'stk-pay-size-'));

before(() => build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'silent', build: { outDir } }));
after(() => rmSync(outDir, { recursive: true, force: true }));

for (const [file, kind] of [
  ['stk-pay.js', 'the classic script'],
  ['stk-pay.mjs', 'the ES module'],
]) {
  test(`${kind} (${file}), Lit included, is at most ${sizeBudget.gzipBytes} bytes gzipped`, () => {
    const code = readFileSync(join(outDir, file));
    const gzipped = gzipSync(code, { level: 9 }).length;
    assert.ok(gzipped <= sizeBudget.gzipBytes, `${file} is ${gzipped} B gzipped, ${gzipped - sizeBudget.gzipBytes} B over the budget`);
    assert.match(code.toString(), /customElements\.define\(.stk-pay.,/, `${file} registers <stk-pay>`);
  });
}
