/// <reference types="mocha" />
/** Fixtures and probes shared by the widget's browser tests (never part of the build). */
import { aTimeout, fixture, waitUntil } from '@open-wc/testing';
import { executeServerCommand, sendKeys } from '@web/test-runner-commands';
import type { PaymentView } from '@stk-pay/server/schemas';
import type { StkPay } from './stk-pay.component.js';
import type { StkPayEventMap } from './events.js';
import './stk-pay.js';

declare global {
  interface Window {
    /** Set by web-test-runner.config.mjs: the real relays started for this run (test-relays.mjs). */
    __RELAYS__: { relay: string; slowRelay: string; scriptedRelay: string; guardedRelay: string; proxiedRelay: string; elsewhereRelay: string };
  }
}

/** The sandbox, answering in 200 ms. */
export const relayUrl = window.__RELAYS__.relay;
/** The sandbox, answering in 1.5 s; tests can restart it. */
export const slowRelayUrl = window.__RELAYS__.slowRelay;
/** Answers `rejected` (0700000007), `provider_error` (0700000008), `timeout` (0700000009). */
export const scriptedRelayUrl = window.__RELAYS__.scriptedRelay;
/** The sandbox under the abuse rules (a real provider's), its customer never answering. */
export const guardedRelayUrl = window.__RELAYS__.guardedRelay;
/** `relayUrl` behind a proxy that can answer status queries with its own 404 page, or never (`proxyMisbehaves`). */
export const proxiedRelayUrl = window.__RELAYS__.proxiedRelay;
/** A relay whose only merchant allows another site than the test page. */
export const elsewhereRelayUrl = window.__RELAYS__.elsewhereRelay;
/** Nothing listens there (and Chromium refuses the port outright): a relay that is down. */
export const deadRelay = 'http://127.0.0.1:9';

export const PAID = '0708374149';
export const CANCELLED = '0700000001';

export type Attributes = Record<string, string | boolean>;

export const DEFAULT_ATTRIBUTES: Attributes = {
  amount: '250',
  reference: 'INV-9',
  description: 'Two mangoes',
  'publishable-key': 'pk_test_demo',
  relay: relayUrl,
};

/** A fresh <stk-pay> with these attributes (over the defaults; `false` leaves one out), rendered. */
export function checkout(attributes: Attributes = {}, configure?: (el: StkPay) => void): Promise<StkPay> {
  const el = document.createElement('stk-pay');
  for (const [name, value] of Object.entries({ ...DEFAULT_ATTRIBUTES, ...attributes })) {
    if (value !== false) el.setAttribute(name, value === true ? '' : value);
  }
  configure?.(el);
  return fixture<StkPay>(el);
}

export function part(el: StkPay, name: string): HTMLElement {
  const found = el.shadowRoot?.querySelector<HTMLElement>(`[part~="${name}"]:not([hidden])`);
  if (!found) throw new Error(`no visible part="${name}"`);
  return found;
}

export function phoneField(el: StkPay): HTMLInputElement {
  return part(el, 'field').querySelector('input') as HTMLInputElement;
}

export function button(el: StkPay): HTMLButtonElement {
  return part(el, 'button') as HTMLButtonElement;
}

/** What the customer sees, as rendered text. */
export function shownText(el: StkPay): string {
  return part(el, 'base').innerText;
}

export function statusText(el: StkPay): string {
  return part(el, 'status').innerText;
}

/** The element with focus inside the widget, if any. */
export function focused(el: StkPay): Element | null {
  return el.shadowRoot?.activeElement ?? null;
}

/** Types the number over whatever the field holds. */
export async function typePhone(el: StkPay, phone: string): Promise<void> {
  phoneField(el).focus();
  phoneField(el).select();
  await sendKeys(phone === '' ? { press: 'Backspace' } : { type: phone });
}

/** Types the number and presses Enter, as a customer on a phone keyboard would. */
export async function payWith(el: StkPay, phone: string): Promise<void> {
  await typePhone(el, phone);
  await sendKeys({ press: 'Enter' });
}

/** Waits until the widget shows `text` in its status, and returns the status text. */
export async function waitForStatus(el: StkPay, text: string | RegExp, timeout = 5000): Promise<string> {
  const matches = () => {
    const shown = el.shadowRoot?.querySelector<HTMLElement>('[part~="status"]')?.innerText ?? '';
    return typeof text === 'string' ? shown.includes(text) : text.test(shown);
  };
  await waitUntil(matches, `the status never showed ${String(text)}`, { timeout });
  return statusText(el);
}

/** Resolves with the detail of the next `name` event. */
export function nextEvent<K extends keyof StkPayEventMap>(el: StkPay, name: K): Promise<StkPayEventMap[K]['detail']> {
  return new Promise((resolve) => el.addEventListener(name, (event) => resolve(event.detail), { once: true }));
}

/** Every `name` event's detail, as they come. */
export function recordEvents<K extends keyof StkPayEventMap>(el: StkPay, name: K): StkPayEventMap[K]['detail'][] {
  const seen: StkPayEventMap[K]['detail'][] = [];
  el.addEventListener(name, (event) => seen.push(event.detail));
  return seen;
}

interface FetchCall {
  url: string;
  init: RequestInit | undefined;
}

/** Records every fetch the page makes, and still sends it; `holdPayments()` keeps POSTs waiting. */
export function spyOnFetch() {
  const original = window.fetch;
  const calls: FetchCall[] = [];
  const pending = new Set<Promise<unknown>>();
  let held: Promise<void> | undefined;
  let release = () => {};
  let answersToLose = 0;
  const lostAnswers: unknown[] = [];
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: input instanceof Request ? input.url : String(input), init });
    const answer = (async () => {
      if (held && init?.method === 'POST') await held;
      const response = await original.call(window, input, init);
      // The request reached the relay and was acted on; its answer is lost on the way back.
      if (init?.method === 'POST' && answersToLose > 0) {
        answersToLose -= 1;
        lostAnswers.push(await response.json());
        throw new TypeError('Failed to fetch');
      }
      return response;
    })();
    pending.add(answer);
    void answer.catch(() => undefined).finally(() => pending.delete(answer));
    return answer;
  };
  return {
    calls,
    paymentRequests: () => calls.filter((call) => call.init?.method === 'POST' && call.url.endsWith('/v1/payments')),
    statusQueries: (id: string) => calls.filter((call) => call.init?.method !== 'POST' && call.url.endsWith(`/v1/payments/${id}`)),
    holdPayments: () => {
      held = new Promise((resolve) => (release = resolve));
    },
    releasePayments: () => release(),
    /** The next Pay request reaches the relay, but its answer never reaches the page. */
    loseNextPaymentAnswer: () => {
      answersToLose += 1;
    },
    /** What the relay answered to the requests whose answers were lost. */
    lostAnswers,
    /** Lets requests still in flight land (a widget may store its open payment when they do). */
    settle: async () => {
      release();
      await Promise.allSettled([...pending]);
      await aTimeout(20);
    },
    restore: () => {
      window.fetch = original;
    },
  };
}

export type FetchSpy = ReturnType<typeof spyOnFetch>;

/** Installs a fetch spy and a clean sessionStorage around each test of the calling suite. */
export function useFetchSpy(): { readonly current: FetchSpy } {
  const holder = {} as { current: FetchSpy };
  beforeEach(() => {
    sessionStorage.clear();
    holder.current = spyOnFetch();
  });
  afterEach(async () => {
    await holder.current.settle();
    holder.current.restore();
    sessionStorage.clear();
  });
  return holder;
}

/** Replaces `window.EventSource` (undefined: a browser without it) for the duration of `run`. */
export async function withEventSource<T>(replacement: typeof EventSource | undefined, run: () => Promise<T>): Promise<T> {
  const original = window.EventSource;
  (window as { EventSource?: typeof EventSource }).EventSource = replacement;
  try {
    return await run();
  } finally {
    window.EventSource = original;
  }
}

/** The proxy's next `times` status queries get its own 404 page, or no answer at all. */
export function proxyMisbehaves(kind: 'html-404' | 'hang', times: number): Promise<boolean> {
  return executeServerCommand('proxy-misbehave', { kind, times });
}

export function restartSlowRelay(downMs = 0): Promise<boolean> {
  return executeServerCommand('slow-relay-restart', { downMs });
}

export interface SeenRequest {
  method: string;
  url: string;
  lastEventId: string | undefined;
}

export function slowRelayRequests(): Promise<SeenRequest[]> {
  return executeServerCommand('slow-relay-requests');
}

export function forgetSlowRelayRequests(): Promise<boolean> {
  return executeServerCommand('slow-relay-forget-requests');
}

export function signCheckoutToken(claims: { amount: number; reference: string }): Promise<string> {
  return executeServerCommand('sign-checkout-token', claims);
}

export type { PaymentView };
