// Widget tests: a real Chromium against real relays (sandbox provider) started in-process, run
// twice: on the sources, then (group `bundle`) on the built classic script, which registers
// <stk-pay> before the sources can, so the bytes a customer downloads (templates squeezed, names
// shortened) pass the same tests. `web-test-runner --group default` runs the sources only.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { relayPlugin, relayUrls } from './test-relays.mjs';

/** Pinned so the relays can list the test page's origin as allowed. */
const port = Number(process.env.STK_PAY_WTR_PORT || 8799);
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Built afresh with the root Vite config, never a stale `dist/`. */
const BUNDLE_PATH = '/__stk-pay-bundle/stk-pay.js';
function builtBundlePlugin() {
  let outDir = '';
  return {
    name: 'stk-pay-built-bundle',
    async serverStart() {
      const root = fileURLToPath(new URL('..', import.meta.url));
      outDir = mkdtempSync(join(tmpdir(), 'stk-pay-wtr-'));
      await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'silent', build: { outDir } });
    },
    serverStop() {
      rmSync(outDir, { recursive: true, force: true });
    },
    serve(context) {
      if (context.path === BUNDLE_PATH) return { body: readFileSync(join(outDir, 'stk-pay.js'), 'utf8'), type: 'js' };
      return undefined;
    },
  };
}

/** The test page; `before`: markup ahead of the test framework. */
const testPage =
  (before = '') =>
  (testFramework) => `<!doctype html>
<html lang="en">
  <body>
    <script>window.__RELAYS__ = ${JSON.stringify(relayUrls())};</script>${before}
    <script type="module" src="${testFramework}"></script>
  </body>
</html>`;

export default {
  rootDir: fileURLToPath(new URL('..', import.meta.url)),
  files: ['src/**/*.test.ts'],
  port,
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 90_000,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath,
        headless: true,
        args: [
          '--no-sandbox',
          '--headless',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      },
    }),
  ],
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }),
    relayPlugin([`http://localhost:${port}`, `http://127.0.0.1:${port}`]),
    builtBundlePlugin(),
  ],
  testFramework: { config: { timeout: 10_000 } },
  testRunnerHtml: testPage(),
  groups: [{ name: 'bundle', files: ['src/**/*.test.ts'], testRunnerHtml: testPage(`\n    <script src="${BUNDLE_PATH}"></script>`) }],
};
