/**
 * The usual end-to-end rig: one relay process started as `pnpm start` starts it, one headless
 * Chromium, and the checkout pages a test opens, all closed after it; on a failure, the browser's
 * problems and the relay's output are printed.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { launchBrowser, openCheckout, type Checkout } from './browser.js';
import { startRelayProcess, type RelayProcess, type StartRelayProcessOptions } from './relay-process.js';

export interface DemoRig {
  readonly relay: RelayProcess;
  /** Opens the relay's demo page; closed after the test. */
  openCheckout(): Promise<Checkout>;
}

export function useDemoRig(options: StartRelayProcessOptions = {}): DemoRig {
  let relay: RelayProcess | undefined;
  let browser: Browser | undefined;
  let checkout: Checkout | undefined;

  beforeAll(async () => {
    relay = await startRelayProcess(options);
    browser = await launchBrowser();
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      if (checkout) console.error(`browser problems:\n${checkout.problems.join('\n')}`);
      if (relay) console.error(`relay output:\n${relay.output()}`);
    }
    await checkout?.close();
    checkout = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
  });

  return {
    get relay() {
      if (!relay) throw new Error('the relay is not started yet (use it inside a test)');
      return relay;
    },
    async openCheckout() {
      if (!browser || !relay) throw new Error('the rig is not started yet (use it inside a test)');
      checkout = await openCheckout(browser, relay.url);
      return checkout;
    },
  };
}
