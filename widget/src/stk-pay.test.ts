/// <reference types="mocha" />
import { aTimeout, expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import type { PaymentView } from '@stk-pay/server/schemas';
import type { StkPay } from './stk-pay.component.js';
import type { StkPayErrorDetail } from './events.js';
import { POLL_INTERVAL_MS } from './relay-client.js';
import { en } from './strings.js';
import './stk-pay.js';

declare global {
  interface Window {
    /** Set by web-test-runner.config.mjs: the real relay started for this run. */
    __RELAY_URL__: string;
  }
}

const relayUrl = window.__RELAY_URL__;
/** Nothing listens there (and Chromium refuses the port outright): a relay that is down. */
const deadRelay = 'http://127.0.0.1:9';

function checkout(relay = relayUrl): Promise<StkPay> {
  return fixture<StkPay>(html`
    <stk-pay amount="250" reference="INV-9" description="Two mangoes" publishable-key="pk_test_demo" relay=${relay}></stk-pay>
  `);
}

function part(el: StkPay, name: string): HTMLElement {
  const found = el.shadowRoot?.querySelector<HTMLElement>(`[part~="${name}"]:not([hidden])`);
  if (!found) throw new Error(`no visible part="${name}"`);
  return found;
}

function phoneField(el: StkPay): HTMLInputElement {
  return part(el, 'field').querySelector('input') as HTMLInputElement;
}

function button(el: StkPay): HTMLButtonElement {
  return part(el, 'button') as HTMLButtonElement;
}

/** What the customer sees, as rendered text. */
function shownText(el: StkPay): string {
  return part(el, 'base').innerText;
}

async function typePhone(el: StkPay, phone: string): Promise<void> {
  phoneField(el).focus();
  await sendKeys({ type: phone });
}

/** Types the number and presses Enter, as a customer on a phone keyboard would. */
async function payWith(el: StkPay, phone: string): Promise<void> {
  await typePhone(el, phone);
  await sendKeys({ press: 'Enter' });
}

interface FetchCall {
  url: string;
  init: RequestInit | undefined;
}

/** Records every fetch the page makes, and still sends it. */
function spyOnFetch() {
  const original = window.fetch;
  const calls: FetchCall[] = [];
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: input instanceof Request ? input.url : String(input), init });
    return original.call(window, input, init);
  };
  return {
    calls,
    paymentRequests: () => calls.filter((call) => call.init?.method === 'POST' && call.url.endsWith('/v1/payments')),
    restore: () => {
      window.fetch = original;
    },
  };
}

function recordEvents<K extends 'stk-pay-status' | 'stk-pay-error'>(el: StkPay, name: K) {
  const seen: (K extends 'stk-pay-status' ? PaymentView : StkPayErrorDetail)[] = [];
  el.addEventListener(name, (event) => seen.push((event as CustomEvent).detail));
  return seen;
}

describe('<stk-pay>', () => {
  let fetchSpy: ReturnType<typeof spyOnFetch>;

  beforeEach(() => {
    fetchSpy = spyOnFetch();
  });

  afterEach(() => {
    fetchSpy.restore();
  });

  it('shows the amount, the reference and the description', async () => {
    const el = await checkout();

    const summary = part(el, 'amount').innerText;
    expect(summary).to.contain('KES 250');
    expect(summary).to.contain('INV-9');
    expect(summary).to.contain('Two mangoes');
    expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
  });

  it('talks to the origin the script came from when no relay is given', async () => {
    const el = await fixture<StkPay>(html`<stk-pay amount="250" publishable-key="pk_test_demo"></stk-pay>`);

    // Loaded as a module here, so there is no classic script: the page's origin.
    expect(el.relay).to.equal(location.origin);
  });

  it('fits a 320 px wide screen', async () => {
    const el = await fixture<StkPay>(html`
      <div style="width: 320px">
        <stk-pay amount="150000" reference="INVOICE-2024-000000000123" description="A rather long description of what is being paid for" publishable-key="pk_test_demo"></stk-pay>
      </div>
    `).then((wrapper) => wrapper.querySelector('stk-pay') as StkPay);
    const base = part(el, 'base');

    expect(base.getBoundingClientRect().width).to.be.at.most(320);
    expect(base.scrollWidth).to.be.at.most(base.clientWidth);
  });

  it('groups thousands in the amount', async () => {
    const el = await fixture<StkPay>(html`<stk-pay amount="15000" publishable-key="pk_test_demo"></stk-pay>`);

    expect(part(el, 'amount').innerText).to.contain('KES 15,000');
  });

  it('offers a labelled phone field for a phone keyboard and passes an accessibility audit', async () => {
    const el = await checkout();
    const input = phoneField(el);

    expect(input.labels?.[0]?.textContent).to.equal(en.phoneLabel);
    expect(input.getAttribute('inputmode')).to.equal('tel');
    expect(input.getAttribute('autocomplete')).to.equal('tel');
    await expect(el).to.be.accessible();
  });

  it('explains badly formatted phone numbers inline and sends no request', async () => {
    const el = await checkout();
    const cases: [string, string][] = [
      ['', en.phoneEmpty],
      ['07o8 374 149', en.phoneCharacters],
      ['0708 374', en.phoneLength],
      ['+1 202 555 0143', en.phonePrefix],
      ['0608374149', en.phonePrefix],
    ];

    for (const [typed, explanation] of cases) {
      phoneField(el).value = '';
      phoneField(el).dispatchEvent(new InputEvent('input'));
      await payWith(el, typed);
      await el.updateComplete;

      const error = part(el, 'field').querySelector<HTMLElement>('.error:not([hidden])');
      expect(error?.textContent, `explanation for "${typed}"`).to.equal(explanation);
      expect(phoneField(el).getAttribute('aria-invalid')).to.equal('true');
      expect(el.shadowRoot?.activeElement).to.equal(phoneField(el));
    }
    expect(fetchSpy.calls).to.have.length(0);
  });

  it('clears the explanation once the number is corrected', async () => {
    const el = await checkout();
    await payWith(el, '0708 374');
    await el.updateComplete;
    expect(phoneField(el).getAttribute('aria-invalid')).to.equal('true');

    await sendKeys({ type: ' 149' });
    await el.updateComplete;

    expect(phoneField(el).getAttribute('aria-invalid')).to.equal('false');
    expect(part(el, 'field').querySelector('.error:not([hidden])')).to.equal(null);
  });

  for (const typed of ['+254 708 374 149', '0708-374-149', '254708374149']) {
    it(`accepts "${typed}" and sends it as 254708374149`, async () => {
      const el = await checkout();
      const started = oneEvent(el, 'stk-pay-status');

      await payWith(el, typed);
      await started;

      expect(el.shadowRoot?.querySelector('input')).to.equal(null, 'the form gives way to the progress message');
      const [request] = fetchSpy.paymentRequests();
      expect(JSON.parse(String(request?.init?.body))).to.deep.equal({
        amount: 250,
        phone: '254708374149',
        reference: 'INV-9',
        description: 'Two mangoes',
      });
      await oneEvent(el, 'stk-pay-success');
    });
  }

  it('asks the customer to check the phone, reports each status and then the success with its receipt', async () => {
    const el = await checkout();
    const statuses = recordEvents(el, 'stk-pay-status');
    const success = oneEvent<CustomEvent<PaymentView>>(el, 'stk-pay-success');

    await payWith(el, '0708374149');
    await waitUntil(() => statuses.length > 0, 'no stk-pay-status event');
    expect(shownText(el)).to.contain(en.checkPhone);
    const { detail: paid } = await success;
    await el.updateComplete;

    expect(paid.status).to.equal('succeeded');
    expect(paid.receipt).to.be.a('string').and.not.equal('');
    expect(paid.phone).to.equal('2547•••••149');
    expect(statuses.at(-1)).to.deep.equal(paid);
    expect(new Set(statuses.map((payment) => payment.id)).size).to.equal(1);
    const seqs = statuses.map((payment) => payment.seq);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).to.equal(seqs.length, 'each state is reported once');
    const status = part(el, 'status');
    expect(status.getAttribute('role')).to.equal('status');
    expect(status.innerText).to.contain('Paid');
    expect(status.innerText).to.contain('KES 250');
    expect(status.innerText).to.contain(paid.receipt as string);
  });

  it('reports a cancelled payment in plain words, and Try again keeps the phone number', async () => {
    const el = await checkout();
    const failure = oneEvent<CustomEvent<PaymentView>>(el, 'stk-pay-failure');

    await payWith(el, '0700 000 001');
    const { detail: failed } = await failure;
    await el.updateComplete;

    expect(failed.status).to.equal('failed');
    expect(failed.failure?.code).to.equal('cancelled');
    expect(part(el, 'status').innerText).to.contain(en.failure.cancelled);
    expect(part(el, 'status').innerText.toLowerCase()).to.contain('cancelled');
    await expect(el).to.be.accessible();

    button(el).click();
    await el.updateComplete;

    expect(phoneField(el).value).to.equal('0700 000 001');
    expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
    expect(el.shadowRoot?.activeElement).to.equal(button(el));
  });

  it('explains insufficient funds', async () => {
    const el = await checkout();
    const failure = oneEvent<CustomEvent<PaymentView>>(el, 'stk-pay-failure');

    await payWith(el, '0700000002');
    const { detail: failed } = await failure;
    await el.updateComplete;

    expect(failed.failure?.code).to.equal('insufficient_funds');
    expect(part(el, 'status').innerText).to.contain('not enough money');
  });

  it("shows the relay's reason when it refuses the amount", async () => {
    const el = await fixture<StkPay>(html`
      <stk-pay amount="200000" publishable-key="pk_test_demo" relay=${relayUrl}></stk-pay>
    `);
    const errors = recordEvents(el, 'stk-pay-error');

    await payWith(el, '0708374149');
    await waitUntil(() => errors.length > 0, 'no stk-pay-error event');
    await el.updateComplete;

    expect(errors[0]).to.include({ code: 'invalid_request', status: 400 });
    expect(part(el, 'status').innerText).to.contain('KES 150,000');
    expect(button(el).disabled).to.equal(false);
  });

  it('tells the customer to contact the shop when the publishable key is wrong', async () => {
    const el = await fixture<StkPay>(html`
      <stk-pay amount="250" publishable-key="pk_test_nobody" relay=${relayUrl}></stk-pay>
    `);
    const errors = recordEvents(el, 'stk-pay-error');

    await payWith(el, '0708374149');
    await waitUntil(() => errors.length > 0, 'no stk-pay-error event');
    await el.updateComplete;

    expect(errors[0]).to.include({ code: 'unauthorized', status: 401 });
    expect(part(el, 'status').innerText).to.equal(en.misconfigured);
  });

  it("says it can't reach the payment service when the relay is down, and stays usable", async () => {
    const el = await checkout(deadRelay);
    const errors = recordEvents(el, 'stk-pay-error');

    await payWith(el, '0708374149');
    await waitUntil(() => errors.length > 0, 'no stk-pay-error event');
    await el.updateComplete;

    expect(errors[0]?.code).to.equal('network_error');
    expect(part(el, 'status').innerText).to.equal(en.unreachable);
    expect(part(el, 'status').getAttribute('role')).to.equal('alert');
    expect(button(el).disabled).to.equal(false);
    expect(phoneField(el).value).to.equal('0708374149');
  });

  it('retries the same attempt with the same Idempotency-Key, and a changed one with a new key', async () => {
    const el = await checkout(deadRelay);
    const errors = recordEvents(el, 'stk-pay-error');

    await payWith(el, '0708374149');
    await waitUntil(() => errors.length === 1);
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => errors.length === 2);
    await sendKeys({ press: 'Backspace' });
    await sendKeys({ type: '8' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => errors.length === 3);

    const keys = fetchSpy.paymentRequests().map((call) => new Headers(call.init?.headers).get('Idempotency-Key'));
    expect(keys).to.have.length(3);
    expect(keys[0]).to.match(/^[\x21-\x7e]{8,255}$/);
    expect(keys[1]).to.equal(keys[0]);
    expect(keys[2]).to.not.equal(keys[0]);
  });

  it('sends one payment when Pay is clicked twice', async () => {
    const el = await checkout();
    const statuses = recordEvents(el, 'stk-pay-status');
    const success = oneEvent(el, 'stk-pay-success');
    await typePhone(el, '0711222333');

    button(el).click();
    button(el).click();
    await success;
    await aTimeout(100);

    expect(fetchSpy.paymentRequests()).to.have.length(1);
    expect(new Set(statuses.map((payment) => payment.id)).size).to.equal(1);
  });

  it('follows the payment by polling when EventSource is unavailable', async () => {
    const original = window.EventSource;
    (window as { EventSource?: typeof EventSource }).EventSource = undefined;
    try {
      const el = await checkout();
      const success = oneEvent<CustomEvent<PaymentView>>(el, 'stk-pay-success');

      await payWith(el, '0722333444');
      const { detail: paid } = await success;

      expect(paid.status).to.equal('succeeded');
      const polls = fetchSpy.calls.filter((call) => call.url.endsWith(`/v1/payments/${paid.id}`));
      expect(polls.length).to.be.at.least(1);
    } finally {
      window.EventSource = original;
    }
  }).timeout(4 * POLL_INTERVAL_MS);
});
