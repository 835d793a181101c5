// Widget tests: a real Chromium against a real relay (sandbox provider) started in-process.
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';

/** Pinned so the relay can list the test page's origin as allowed. */
const port = Number(process.env.STK_PAY_WTR_PORT || 8799);
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** @type {{ url: string, close(): Promise<void> } | undefined} */
let relay;

/** Starts the relay with the dev server and stops it with the dev server. */
function relayPlugin() {
  return {
    name: 'stk-pay-relay',
    async serverStart() {
      const { tsImport } = await import('tsx/esm/api');
      const { startRelay } = await tsImport('../server/src/testing/start-relay.ts', import.meta.url);
      relay = await startRelay({
        allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
        sandboxDelayMs: 200,
      });
    },
    async serverStop() {
      await relay?.close();
      relay = undefined;
    },
  };
}

export default {
  rootDir: fileURLToPath(new URL('..', import.meta.url)),
  files: ['src/**/*.test.ts'],
  port,
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 60_000,
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
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }), relayPlugin()],
  testFramework: { config: { timeout: 10_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html lang="en">
  <body>
    <script>window.__RELAY_URL__ = ${JSON.stringify(relay?.url ?? '')};</script>
    <script type="module" src="${testFramework}"></script>
  </body>
</html>`,
};
