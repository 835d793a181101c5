/**
 * Headless Chromium (Debian's package, see scripts/ensure-chromium.mjs) driven by playwright-core,
 * and helpers to use the demo page's <stk-pay> checkout as a customer would.
 */
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The widget's DOM events the tests record (captured on window, so bubbling is not required). */
export const WIDGET_EVENTS = ['stk-pay-success', 'stk-pay-failure', 'stk-pay-status', 'stk-pay-error'] as const;

export interface RecordedEvent {
  type: string;
  detail: unknown;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Checkout {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, for failure messages. */
  problems: string[];
  close(): Promise<void>;
}

/** Opens `url` (the relay's demo page) in a fresh context and waits until <stk-pay> is defined. */
export async function openCheckout(browser: Browser, url: string): Promise<Checkout> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.addInitScript((types: readonly string[]) => {
    const recorded: { type: string; detail: unknown }[] = [];
    (window as unknown as { __stkPayEvents: typeof recorded }).__stkPayEvents = recorded;
    for (const type of types) {
      window.addEventListener(
        type,
        (event) => recorded.push({ type, detail: JSON.parse(JSON.stringify((event as CustomEvent).detail ?? null)) }),
        { capture: true },
      );
    }
  }, WIDGET_EVENTS);
  const response = await page.goto(url);
  if (response === null || !response.ok()) {
    throw new Error(`GET ${url} answered ${response?.status() ?? 'nothing'}`);
  }
  await page.waitForFunction(() => customElements.get('stk-pay') !== undefined, undefined, { timeout: 10_000 });
  return {
    context,
    page,
    problems,
    close: () => context.close(),
  };
}

/** Types the phone number into the widget's phone field and presses Pay. Resolves with the
 * relay's answer to the widget's `POST /v1/payments`. */
export async function payWithPhone(page: Page, phone: string): Promise<Response> {
  await page.getByLabel(/phone/i).fill(phone);
  const created = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/v1/payments',
    { timeout: 15_000 },
  );
  await page.getByRole('button', { name: /pay/i }).click();
  return created;
}

/** Events the widget dispatched so far (see WIDGET_EVENTS). */
export function recordedEvents(page: Page): Promise<RecordedEvent[]> {
  return page.evaluate(() => (window as unknown as { __stkPayEvents: { type: string; detail: unknown }[] }).__stkPayEvents);
}

/** Waits until the widget dispatched an event of `type`, and returns its detail. */
export async function waitForEvent(page: Page, type: string, timeoutMs = 20_000): Promise<unknown> {
  await page.waitForFunction(
    (t: string) => (window as unknown as { __stkPayEvents: { type: string }[] }).__stkPayEvents.some((e) => e.type === t),
    type,
    { timeout: timeoutMs },
  );
  const events = await recordedEvents(page);
  return events.find((event) => event.type === type)?.detail;
}

/** The text the customer sees inside <stk-pay> (its shadow DOM, rendered text only). */
export function widgetText(page: Page): Promise<string> {
  return page.locator('stk-pay').evaluate((host) => {
    const root = host.shadowRoot;
    if (root === null) return (host as HTMLElement).innerText;
    return Array.from(root.children)
      .map((child) => (child instanceof HTMLElement ? child.innerText : ''))
      .join('\n');
  });
}

/** Waits until the widget shows text matching `pattern`; the error names what it showed instead. */
export async function waitForWidgetText(page: Page, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await widgetText(page);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the widget did not show ${pattern} within ${timeoutMs} ms; it showed:\n${text}`);
}
