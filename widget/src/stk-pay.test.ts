/// <reference types="mocha" />
import { aTimeout, expect, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import type { StkPay } from './stk-pay.component.js';
import { en } from './strings.js';
import {
  CANCELLED,
  PAID,
  button,
  checkout,
  elsewhereRelayUrl,
  guardedRelayUrl,
  nextEvent,
  part,
  payWith,
  phoneField,
  recordEvents,
  relayUrl,
  shownText,
  signCheckoutToken,
  slowRelayUrl,
  statusText,
  useFetchSpy,
  waitForStatus,
} from './test-helpers.js';

/** Runs `run` with console.error recorded instead of printed. */
async function withConsoleErrors(run: (errors: unknown[][]) => Promise<void>): Promise<void> {
  const original = console.error;
  const errors: unknown[][] = [];
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await run(errors);
  } finally {
    console.error = original;
  }
}

describe('<stk-pay> form and attributes', () => {
  const fetchSpy = useFetchSpy();

  it('shows the amount, the reference and the description', async () => {
    const el = await checkout();

    const summary = part(el, 'amount').innerText;
    expect(summary).to.contain('KES 250');
    expect(summary).to.contain('Reference INV-9');
    expect(summary).to.contain('Two mangoes');
    expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
  });

  it('groups thousands in the amount', async () => {
    const el = await checkout({ amount: '15000' });

    expect(part(el, 'amount').innerText).to.contain('KES 15,000');
  });

  it('talks to the origin the script came from when no relay is given', async () => {
    const el = await checkout({ relay: false });

    // Loaded as a module here (import.meta.url): the test server's origin.
    expect(el.relay).to.equal(location.origin);
  });

  it('explains badly formatted phone numbers at the field and sends no request', async () => {
    const el = await checkout();
    const cases: [string, string][] = [
      ['', en.phone.empty],
      ['07o8 374 149', en.phone.characters],
      ['0708 374', en.phone.length],
      ['+1 202 555 0143', en.phone.prefix],
      ['0608374149', en.phone.prefix],
    ];

    for (const [typed, explanation] of cases) {
      await payWith(el, typed);
      await el.updateComplete;

      const error = part(el, 'field').querySelector<HTMLElement>('.error:not([hidden])');
      expect(error?.textContent, `explanation for "${typed}"`).to.equal(explanation);
      expect(phoneField(el).getAttribute('aria-invalid')).to.equal('true');
      expect(phoneField(el).getAttribute('aria-describedby')).to.equal(error?.id);
      expect(el.shadowRoot?.activeElement).to.equal(phoneField(el));
    }
    expect(fetchSpy.current.calls).to.have.length(0);
  });

  it('clears the explanation once the number is corrected', async () => {
    const el = await checkout();
    await payWith(el, '0708 374');
    await el.updateComplete;
    expect(phoneField(el).getAttribute('aria-invalid')).to.equal('true');

    await sendKeys({ type: ' 149' });
    await el.updateComplete;

    expect(phoneField(el).getAttribute('aria-invalid')).to.equal('false');
    expect(phoneField(el).hasAttribute('aria-describedby')).to.equal(false);
    expect(part(el, 'field').querySelector('.error:not([hidden])')).to.equal(null);
  });

  it('accepts the ways Kenyans write their number and sends it as 2547XXXXXXXX', async () => {
    for (const typed of ['+254 708 374 149', '0708-374-149', '254708374149']) {
      sessionStorage.clear(); // or the next checkout would follow the payment still open
      const el = await checkout();
      const submitted = nextEvent(el, 'stk-pay-submit');
      // A checkout made while its twin's Pay is on its way waits for that payment instead.
      const answered = nextEvent(el, 'stk-pay-status');

      await payWith(el, typed);

      expect((await submitted).phone, typed).to.equal('254708374149');
      await answered;
    }
    const bodies = fetchSpy.current.paymentRequests().map((call) => JSON.parse(String(call.init?.body)));
    expect(bodies).to.have.length(3);
    expect(bodies[0]).to.deep.equal({ amount: 250, phone: '254708374149', reference: 'INV-9', description: 'Two mangoes' });
  });

  it('accepts a number pasted with invisible direction marks (as WhatsApp copies it)', async () => {
    for (const pasted of ['\u202a+254 708 374 149\u202c', '\u200e0708 374 149\u200e', '\u2066254708374149\u2069', '0708\u202f374\u200f149']) {
      sessionStorage.clear(); // or the next checkout would follow the payment still open
      const el = await checkout();
      const submitted = nextEvent(el, 'stk-pay-submit');
      const answered = nextEvent(el, 'stk-pay-status');

      await payWith(el, pasted);
      await el.updateComplete;

      expect(shownText(el), JSON.stringify(pasted)).not.to.contain(en.phone.characters);
      expect((await submitted).phone, JSON.stringify(pasted)).to.equal('254708374149');
      await answered;
    }
    const phones = fetchSpy.current.paymentRequests().map((call) => JSON.parse(String(call.init?.body)).phone);
    expect(phones).to.deep.equal(['254708374149', '254708374149', '254708374149', '254708374149']);
  });

  it('fills in the number from the phone attribute, and the customer can change it', async () => {
    const el = await checkout({ phone: '0712 345 678' });
    expect(phoneField(el).value).to.equal('0712 345 678');

    const submitted = nextEvent(el, 'stk-pay-submit');
    await payWith(el, PAID);

    expect((await submitted).phone).to.equal('254708374149');
  });

  it('passes the token attribute through to the relay, which charges what the merchant signed', async () => {
    const token = await signCheckoutToken({ amount: 250, reference: 'INV-9' });
    const el = await checkout({ token });
    const success = nextEvent(el, 'stk-pay-success');

    await payWith(el, PAID);
    const paid = await success;

    const [request] = fetchSpy.current.paymentRequests();
    expect(JSON.parse(String(request?.init?.body)).token).to.equal(token);
    expect(paid).to.include({ amount: 250, reference: 'INV-9', status: 'succeeded' });
  });

  it("shows the relay's reason when the amount differs from the signed token", async () => {
    const token = await signCheckoutToken({ amount: 250, reference: 'INV-9' });
    const el = await checkout({ amount: '10', token });
    const error = nextEvent(el, 'stk-pay-error');

    await payWith(el, PAID);

    expect(await error).to.include({ code: 'invalid_request', status: 400 });
    await el.updateComplete;
    expect(statusText(el)).to.contain('KES 250');
    expect(button(el).textContent?.trim()).to.equal('Pay KES 10');
  });

  it("shows the relay's reason when it refuses the amount", async () => {
    const el = await checkout({ amount: '200000' });
    const error = nextEvent(el, 'stk-pay-error');

    await payWith(el, PAID);

    expect(await error).to.include({ code: 'invalid_request', status: 400 });
    await el.updateComplete;
    expect(statusText(el)).to.contain('KES 150,000');
    expect(button(el).disabled).to.equal(false);
  });

  it('tells the customer to contact the shop, and the merchant why, when the relay refuses the key', async () => {
    await withConsoleErrors(async (consoleErrors) => {
      const el = await checkout({ 'publishable-key': 'pk_test_nobody' });
      const error = nextEvent(el, 'stk-pay-error');

      await payWith(el, PAID);

      expect(await error).to.include({ code: 'unauthorized', status: 401 });
      await el.updateComplete;
      expect(statusText(el)).to.equal(en.misconfigured);
      expect(consoleErrors).to.have.length(1);
    });
  });

  it("tells the customer to contact the shop, and the merchant why, on a site the merchant has not allowed (the relay's 403 is readable)", async () => {
    await withConsoleErrors(async (consoleErrors) => {
      const el = await checkout({ relay: elsewhereRelayUrl });
      const error = nextEvent(el, 'stk-pay-error');

      await payWith(el, PAID);

      expect(await error).to.include({ code: 'forbidden_origin', status: 403 });
      await el.updateComplete;
      expect(statusText(el)).to.equal(en.misconfigured);
      expect(String(consoleErrors[0]?.[0])).to.match(/refused this checkout/);
    });
  });

  it('re-renders when its attributes change', async () => {
    const el = await checkout();

    el.setAttribute('amount', '300');
    el.setAttribute('reference', 'INV-10');
    el.setAttribute('description', 'Three mangoes');
    el.setAttribute('lang', 'sw');
    await el.updateComplete;

    expect(part(el, 'amount').innerText).to.contain('KES 300');
    expect(part(el, 'amount').innerText).to.contain('INV-10');
    expect(part(el, 'amount').innerText).to.contain('Three mangoes');
    expect(button(el).textContent?.trim()).to.equal('Lipa KES 300');
  });

  it('keeps the properties a page set before the script defined the element', async () => {
    // The registered class (the built script's, in the bundle group) under a tag of this test's own.
    const Registered = customElements.get('stk-pay') as typeof StkPay;
    const el = document.createElement('stk-pay-defined-late') as StkPay;
    Object.assign(el, { amount: 1250, publishableKey: 'pk_test_demo', relay: relayUrl, disabled: true });
    document.body.append(el);
    try {
      customElements.define('stk-pay-defined-late', class extends Registered {});
      await el.updateComplete;

      expect(part(el, 'amount').innerText).to.contain('KES 1,250');
      expect(button(el).disabled).to.equal(true);
      expect(el.hasAttribute('disabled')).to.equal(true);
    } finally {
      el.remove();
    }
  });

  it('shows the checkout but starts nothing while disabled, and works once enabled', async () => {
    const el = await checkout({ disabled: true, phone: PAID });

    expect(button(el).disabled).to.equal(true);
    expect(phoneField(el).disabled).to.equal(true);
    button(el).click();
    el.shadowRoot?.querySelector('form')?.requestSubmit();
    await aTimeout(50);
    expect(fetchSpy.current.calls).to.have.length(0);

    const success = nextEvent(el, 'stk-pay-success');
    el.disabled = false;
    await el.updateComplete;
    expect(el.hasAttribute('disabled')).to.equal(false);
    button(el).click();
    await success;
  });

  describe('misconfigured', () => {
    it('says what is missing in place of the form, with one console error, when there is no publishable key', async () => {
      await withConsoleErrors(async (consoleErrors) => {
        const el = await checkout({ 'publishable-key': false });
        el.description = 'Re-rendered';
        await el.updateComplete;

        expect(statusText(el)).to.contain(en.misconfigured);
        expect(statusText(el)).to.contain(en.noKey);
        expect(el.shadowRoot?.querySelector('input, button')).to.equal(null);
        expect(consoleErrors).to.have.length(1);
        expect(String(consoleErrors[0]?.[0])).to.contain('publishable-key');
      });
    });

    it('says the amount is wrong when it is not a positive whole number', async () => {
      await withConsoleErrors(async (consoleErrors) => {
        for (const amount of ['abc', '0', '-5', '2.5', '', false] as const) {
          const el = await checkout({ amount });

          expect(statusText(el), `amount=${String(amount)}`).to.contain(en.badAmount);
          expect(shownText(el)).not.to.contain('NaN');
          expect(el.shadowRoot?.querySelector('button')).to.equal(null);
        }
        expect(consoleErrors).to.have.length(6);
      });
    });

    it('becomes a working checkout once the attribute is fixed', async () => {
      await withConsoleErrors(async () => {
        const el = await checkout({ amount: 'abc' });

        el.setAttribute('amount', '250');
        await el.updateComplete;

        expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
        expect(statusText(el)).to.equal('');
      });
    });
  });

  describe('stk-pay-submit', () => {
    it('announces what Pay is about to send', async () => {
      const el = await checkout();
      const submitted = nextEvent(el, 'stk-pay-submit');

      await payWith(el, PAID);

      expect(await submitted).to.deep.equal({ amount: 250, phone: '254708374149', reference: 'INV-9', description: 'Two mangoes' });
    });

    it('sends nothing when a listener calls preventDefault(), and leaves the form usable', async () => {
      const el = await checkout();
      const statuses = recordEvents(el, 'stk-pay-status');
      el.addEventListener('stk-pay-submit', (event) => event.preventDefault(), { once: true });

      await payWith(el, PAID);
      await aTimeout(100);

      expect(fetchSpy.current.calls.map((call) => call.url)).to.deep.equal([]);
      expect(statuses).to.have.length(0);
      expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
      expect(phoneField(el).value).to.equal(PAID);

      const success = nextEvent(el, 'stk-pay-success');
      await sendKeys({ press: 'Enter' });
      await success;
    });
  });

  describe('reset()', () => {
    it('forgets an open payment and shows the form with the phone attribute again', async () => {
      const el = await checkout({ relay: slowRelayUrl, phone: '0711 111 111' });
      const statuses = recordEvents(el, 'stk-pay-status');
      await payWith(el, PAID);
      await waitUntil(() => statuses.length > 0);

      el.reset();
      await el.updateComplete;

      expect(phoneField(el).value).to.equal('0711 111 111');
      expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
      expect(sessionStorage.length).to.equal(0);
      const seen = statuses.length;
      await aTimeout(1800); // the slow relay's answer comes meanwhile
      expect(statuses).to.have.length(seen);
    });

    it('clears a failure', async () => {
      const el = await checkout();
      const failure = nextEvent(el, 'stk-pay-failure');
      await payWith(el, CANCELLED);
      await failure;

      el.reset();
      await el.updateComplete;

      expect(phoneField(el).value).to.equal('');
      expect(statusText(el)).to.equal('');
      expect(shownText(el)).not.to.contain(en.notPaid);
    });
  });
});

describe('<stk-pay> under frameworks and page changes', () => {
  const fetchSpy = useFetchSpy();
  const randomPhone = () => `07${String(10_000_000 + Math.floor(Math.random() * 89_999_999))}`;
  const timerText = (el: StkPay) => el.shadowRoot?.querySelector('[role="timer"]')?.textContent ?? '';

  it('takes an amount set as a string property (React 19, Preact and Vue set properties on custom elements)', async () => {
    const el = await checkout({ amount: false }, (element) => {
      (element as unknown as { amount: unknown }).amount = '250';
    });
    await el.updateComplete;
    expect(shownText(el)).not.to.contain(en.badAmount);
    expect(shownText(el)).to.contain('KES 250');
  });

  it('keeps counting down after the element is moved in the page while the prompt is open (a modal re-parents it)', async () => {
    const el = await checkout({ relay: guardedRelayUrl, reference: 'MOVED-1' });
    await payWith(el, randomPhone());
    await waitForStatus(el, en.checkPhone);
    const holder = document.createElement('div');
    document.body.append(holder);
    holder.append(el);
    const before = timerText(el);
    await waitUntil(() => timerText(el) !== before, 'the countdown goes on after the move', { timeout: 3_000 });
    holder.remove();
  });

  it('shows the amount being charged, not an amount attribute changed while the prompt is open', async () => {
    const el = await checkout({ relay: guardedRelayUrl, reference: 'CHANGED-1' });
    await payWith(el, randomPhone());
    await waitForStatus(el, en.checkPhone);
    el.setAttribute('amount', '300');
    await el.updateComplete;
    expect(shownText(el)).not.to.contain('KES 300');
    expect(shownText(el)).to.contain('KES 250');
  });

  it('keeps showing the open payment, then Paid, while a re-render briefly leaves the amount invalid', async () => {
    await withConsoleErrors(async () => {
      const el = await checkout({ relay: slowRelayUrl, reference: 'FLICKER-1' });
      const success = nextEvent(el, 'stk-pay-success');
      await payWith(el, PAID);
      await waitForStatus(el, en.checkPhone);

      (el as unknown as { amount: unknown }).amount = undefined;
      await el.updateComplete;
      expect(shownText(el)).not.to.contain(en.misconfigured);
      expect(statusText(el)).to.contain(en.checkPhone);
      expect(part(el, 'amount').innerText).to.contain('KES 250');

      await success;
      await el.updateComplete;
      expect(statusText(el)).to.contain(en.paid);
      el.amount = 250;
      await el.updateComplete;
      expect(statusText(el)).to.contain(en.paid);
      expect(fetchSpy.current.paymentRequests()).to.have.length(1);
    });
  });

  it('starts a fresh checkout when the page moves on to another order after Paid', async () => {
    const changes: [string, string][] = [
      ['amount', '300'],
      ['reference', 'ORDER-2'],
    ];
    for (const [name, value] of changes) {
      const el = await checkout({ reference: 'ORDER-1' });
      const success = nextEvent(el, 'stk-pay-success');
      await payWith(el, PAID);
      await success;
      await el.updateComplete;
      el.setAttribute('lang', 'sw'); // not another order
      await el.updateComplete;
      expect(statusText(el), name).to.contain('Imelipwa');

      el.setAttribute(name, value);
      await el.updateComplete;

      expect(statusText(el), name).to.equal('');
      expect(button(el).textContent?.trim(), name).to.equal(name === 'amount' ? 'Lipa KES 300' : 'Lipa KES 250');
    }
  });

  it('shows Paid, with the amount paid, when the amount attribute changed while the prompt was open', async () => {
    const el = await checkout({ relay: slowRelayUrl, reference: 'CHANGED-2' });
    const success = nextEvent(el, 'stk-pay-success');
    await payWith(el, PAID);
    await waitForStatus(el, en.checkPhone);
    el.setAttribute('amount', '300');
    await success;
    await el.updateComplete;
    expect(statusText(el)).to.contain(en.paid);
    expect(statusText(el)).to.contain('KES 250');
    expect(shownText(el)).not.to.contain('KES 300');
  });

  it('treats a removed phone attribute, or phone set to undefined, as an empty field', async () => {
    const removed = await checkout({ phone: '0708374149', reference: 'PHONE-1' });
    removed.removeAttribute('phone');
    await removed.updateComplete;
    button(removed).click();
    await waitUntil(() => shownText(removed).includes(en.phone.empty), 'the empty field explained');
    const unset = await checkout({ phone: '0708374149', reference: 'PHONE-2' }, (element) => {
      (element as unknown as { phone: unknown }).phone = undefined;
    });
    await unset.updateComplete;
    expect(phoneField(unset).value).to.equal('');
  });
});
