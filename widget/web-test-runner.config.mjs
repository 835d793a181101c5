// Widget tests: a real Chromium against real relays (sandbox provider) started in-process.
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { relayPlugin, relayUrls } from './test-relays.mjs';

/** Pinned so the relays can list the test page's origin as allowed. */
const port = Number(process.env.STK_PAY_WTR_PORT || 8799);
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

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
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }), relayPlugin([`http://localhost:${port}`, `http://127.0.0.1:${port}`])],
  testFramework: { config: { timeout: 10_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html lang="en">
  <body>
    <script>window.__RELAYS__ = ${JSON.stringify(relayUrls())};</script>
    <script type="module" src="${testFramework}"></script>
  </body>
</html>`,
};
