/**
 * In the browser: the time from the provider's callback to the widget showing the result, over 50
 * payments in headless Chromium (Debian's, driven by playwright-core). Each payment is made as a
 * customer makes it on a checkout page at the relay's origin (a fresh tab, phone typed, Pay pressed); once the
 * widget waits for the customer, the Daraja double sends the success callback, and the page notes
 * the first frame after the widget rendered "paid". Baseline, same run: a bare page following a
 * bare @fastify/sse stream with EventSource, showing its final event the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { withDeadline } from '../server/src/deadline.js';
import { darajaRelaySettings, startOnDemandDaraja } from './lib/daraja-rig.js';
import { startBare, startRelay, type ServerProcess } from './lib/processes.js';
import { percentile, type Row } from './lib/results.js';
import { clock } from './lib/sse-clients.js';

/** page.evaluate has no timeout of its own, and a bench that hangs tells nothing. */
const WAIT_MS = 30_000;
const PAYMENTS = Number(process.env['BENCH_BROWSER_PAYMENTS'] ?? 50);
const CHROMIUM = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * The checkout page, as a merchant's page embeds the widget. The relay serves its demo page only
 * on the sandbox, and this relay runs Daraja (its double): the page is served at the relay's own
 * origin by the browser's request interception, so the demo merchant (its own pages only) takes it.
 */
const CHECKOUT_PAGE = `<!doctype html><meta charset="utf-8"><title>Checkout</title>
<script src="/stk-pay.js"></script>
<stk-pay amount="250" reference="INV-9" description="Demo order" publishable-key="pk_test_demo"></stk-pay>`;

interface WidgetWindow {
  waiting: Promise<void>;
  shown: Promise<number>;
}

async function relayLatencies(browser: Browser): Promise<number[]> {
  const double = await startOnDemandDaraja();
  const dir = mkdtempSync(join(tmpdir(), 'stk-pay-bench-browser-'));
  let relay: ServerProcess | undefined;
  try {
    relay = await startRelay(darajaRelaySettings(double, join(dir, 'bench.sqlite')));
    const latencies: number[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.addInitScript(() => {
          const w = window as unknown as WidgetWindow;
          let waiting!: () => void;
          w.waiting = new Promise((resolve) => (waiting = resolve));
          w.shown = new Promise((resolve) => {
            addEventListener('stk-pay-status', (event) => {
              if ((event as CustomEvent<{ status: string }>).detail.status === 'awaiting_customer') waiting();
            });
            addEventListener('stk-pay-success', async (event) => {
              await (event.target as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
              requestAnimationFrame(() => resolve(performance.timeOrigin + performance.now()));
            });
          });
        });
        await page.route(`${relay.url}/checkout`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: CHECKOUT_PAGE }));
        await page.goto(`${relay.url}/checkout`);
        const phone = `07${String(40_000_000 + i)}`;
        await page.getByLabel(/phone/i).fill(phone);
        await page.getByRole('button', { name: /pay/i }).click();
        await withDeadline(page.evaluate(() => (window as unknown as WidgetWindow).waiting), WAIT_MS, `payment ${i}: the widget showing the prompt, not within 30 s`);
        const { sentAt, status } = await double.answer(`254${phone.slice(1)}`);
        if (status !== 200) throw new Error(`callback ${i} answered ${status}`);
        const shownAt = await withDeadline(page.evaluate(() => (window as unknown as WidgetWindow).shown), WAIT_MS, `payment ${i}: the widget showing the result, not within 30 s`);
        latencies.push(shownAt - sentAt);
      } finally {
        await context.close();
      }
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    await relay?.stop();
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bareLatencies(browser: Browser): Promise<number[]> {
  const bare = await startBare();
  try {
    const latencies: number[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${bare.url}/page`);
        await withDeadline(
          page.evaluate((n) => {
            (window as unknown as { follow(n: number): void }).follow(n);
            return (window as unknown as { opened: Promise<void> }).opened;
          }, i),
          WAIT_MS,
          `bare stream ${i}: opening, not within 30 s`,
        );
        const sentAt = clock();
        await (await fetch(`${bare.url}/streams/${i}/notify`, { method: 'POST' })).body?.cancel();
        const shownAt = await withDeadline(page.evaluate(() => (window as unknown as { shown: Promise<number> }).shown), WAIT_MS, `bare stream ${i}: the event shown, not within 30 s`);
        latencies.push(shownAt - sentAt);
      } finally {
        await context.close();
      }
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    await bare.stop();
  }
}

export async function browserLatency(): Promise<Row[]> {
  const browser = await launch();
  try {
    const baseline = await bareLatencies(browser);
    const ours = await relayLatencies(browser);
    return [50, 95].map((p) => {
      const value = percentile(ours, p);
      const base = percentile(baseline, p);
      return {
        section: 'browser',
        figure: `callback → widget shows the result, p${p} (${PAYMENTS} payments, Chromium)`,
        value,
        baselineName: 'bare EventSource page',
        baseline: base,
        unit: 'ms',
        ratio: value / base,
        goal: 'reported',
      };
    });
  } finally {
    await browser.close();
  }
}
