/// <reference types="mocha" />
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { resetMouse, sendKeys, sendMouse } from '@web/test-runner-commands';
import type { StkPay } from './stk-pay.component.js';
import { en } from './strings.js';
import {
  CANCELLED,
  PAID,
  button,
  checkout,
  deadRelay,
  focused,
  nextEvent,
  part,
  payWith,
  phoneField,
  relayUrl,
  slowRelayUrl,
  useFetchSpy,
  waitForStatus,
} from './test-helpers.js';

/** The live region every state change is announced through. */
function liveRegion(el: StkPay): HTMLElement {
  const region = part(el, 'status');
  expect(region.getAttribute('role')).to.equal('status');
  return region;
}

describe('<stk-pay> accessibility', () => {
  const fetchSpy = useFetchSpy();

  describe('passes an axe audit', () => {
    it('when ready, with a labelled phone field for a phone keyboard', async () => {
      const el = await checkout();

      const input = phoneField(el);
      expect(input.labels?.[0]?.textContent).to.equal(en.phoneLabel);
      expect(input.getAttribute('inputmode')).to.equal('tel');
      expect(input.getAttribute('autocomplete')).to.equal('tel');
      await expect(el).to.be.accessible();
    });

    it('when the number is wrong, the explanation tied to the field', async () => {
      const el = await checkout();
      await payWith(el, '0708');
      await el.updateComplete;

      const input = phoneField(el);
      expect(input.getAttribute('aria-invalid')).to.equal('true');
      const description = el.shadowRoot?.getElementById(input.getAttribute('aria-describedby') ?? '');
      expect(description?.textContent).to.equal(en.phone.length);
      await expect(el).to.be.accessible();
    });

    it('while sending', async () => {
      const el = await checkout();
      fetchSpy.current.holdPayments();
      await payWith(el, PAID);
      await el.updateComplete;

      expect(button(el).textContent?.trim()).to.equal(en.sending);
      await expect(el).to.be.accessible();
    });

    it('while waiting for the PIN, and while still confirming', async () => {
      const el = await checkout({ relay: slowRelayUrl }, (el) => {
        el.promptWindowMs = 1000;
      });
      await payWith(el, PAID);
      await waitForStatus(el, 'stays open');
      await expect(el).to.be.accessible();

      await waitForStatus(el, en.confirming);
      await expect(el).to.be.accessible();
    });

    it('when paid, and when failed', async () => {
      const paid = await checkout();
      const success = nextEvent(paid, 'stk-pay-success');
      await payWith(paid, PAID);
      await success;
      await paid.updateComplete;
      await expect(paid).to.be.accessible();

      const failed = await checkout({ reference: 'INV-11' });
      const failure = nextEvent(failed, 'stk-pay-failure');
      await payWith(failed, CANCELLED);
      await failure;
      await failed.updateComplete;
      await expect(failed).to.be.accessible();
    });

    it('when the relay is down', async () => {
      const el = await checkout({ relay: deadRelay });
      const error = nextEvent(el, 'stk-pay-error');
      await payWith(el, PAID);
      await error;
      await el.updateComplete;

      expect(liveRegion(el).textContent).to.equal(en.unreachable);
      await expect(el).to.be.accessible();
    });

    it('when misconfigured, and when disabled', async () => {
      const original = console.error;
      console.error = () => {};
      try {
        const misconfigured = await checkout({ 'publishable-key': false });
        await expect(misconfigured).to.be.accessible();
      } finally {
        console.error = original;
      }
      const disabled = await checkout({ disabled: true });
      await expect(disabled).to.be.accessible();
    });
  });

  describe('announces each state change through its live region', () => {
    it('from waiting to paid', async () => {
      const el = await checkout();
      const region = liveRegion(el);
      const success = nextEvent(el, 'stk-pay-success');

      await payWith(el, PAID);
      await waitForStatus(el, en.checkPhone);
      expect(liveRegion(el)).to.equal(region, 'the same live region, so the change is announced');
      const paid = await success;
      await el.updateComplete;

      expect(liveRegion(el)).to.equal(region);
      expect(region.textContent).to.contain(en.paid);
      expect(region.textContent).to.contain(en.receipt(paid.receipt!));
    });

    it('with the reason of a failure', async () => {
      const el = await checkout();
      const region = liveRegion(el);
      const failure = nextEvent(el, 'stk-pay-failure');

      await payWith(el, CANCELLED);
      await failure;
      await el.updateComplete;

      expect(liveRegion(el)).to.equal(region);
      expect(region.textContent).to.contain(en.failure.cancelled);
    });
  });

  describe('works from the keyboard alone', () => {
    /** A focusable element before the checkout, where a keyboard user starts. */
    async function pageWithCheckout(): Promise<{ before: HTMLButtonElement; el: StkPay }> {
      const wrapper = await fixture<HTMLDivElement>(html`
        <div>
          <button type="button">Before</button>
          <stk-pay amount="250" reference="INV-9" publishable-key="pk_test_demo" relay=${relayUrl}></stk-pay>
        </div>
      `);
      return { before: wrapper.querySelector('button')!, el: wrapper.querySelector('stk-pay')! };
    }

    it('Tab to the field, type, Tab to Pay, Enter: focus lands on the outcome', async () => {
      const { before, el } = await pageWithCheckout();
      const success = nextEvent(el, 'stk-pay-success');
      before.focus();

      await sendKeys({ press: 'Tab' });
      expect(focused(el)).to.equal(phoneField(el));
      await sendKeys({ type: PAID });
      await sendKeys({ press: 'Tab' });
      expect(focused(el)).to.equal(button(el));
      await sendKeys({ press: 'Enter' });

      await waitUntil(() => focused(el)?.textContent === en.checkPhone, 'focus did not move to the waiting message');
      await success;
      await el.updateComplete;
      expect(focused(el)?.textContent).to.equal(en.paid);
    });

    it('a wrong number sent from the field with Enter is announced (an alert), not only described on the field', async () => {
      const { before, el } = await pageWithCheckout();
      before.focus();
      await sendKeys({ press: 'Tab' });
      await sendKeys({ type: '0708' });
      await sendKeys({ press: 'Enter' });
      await el.updateComplete;
      const error = el.shadowRoot!.getElementById('phone-error')!;
      expect(error.getAttribute('role')).to.equal('alert');
      expect(error.hidden).to.equal(false);
      expect(error.textContent).to.equal(en.phone.length);
      expect(focused(el)).to.equal(phoneField(el));
    });

    it('a click on Pay right after typing a wrong number is not lost: nothing moves the button under the pointer', async () => {
      const { before, el } = await pageWithCheckout();
      before.focus();
      await sendKeys({ press: 'Tab' });
      await sendKeys({ type: '0708' });
      const box = button(el).getBoundingClientRect();
      try {
        await sendMouse({ type: 'click', position: [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)] });
      } finally {
        await resetMouse();
      }
      await el.updateComplete;
      // The form was sent: the number is explained, and the field has the focus back.
      expect(el.shadowRoot!.getElementById('phone-error')!.textContent).to.equal(en.phone.length);
      expect(focused(el)).to.equal(phoneField(el));
    });

    it('after a failure, Tab to Try again and Enter: back in the field with the number kept', async () => {
      const { before, el } = await pageWithCheckout();
      const failure = nextEvent(el, 'stk-pay-failure');
      before.focus();
      await sendKeys({ press: 'Tab' });
      await sendKeys({ type: CANCELLED });
      await sendKeys({ press: 'Enter' });
      await failure;
      await el.updateComplete;
      expect(focused(el)?.textContent).to.equal(en.notPaid);

      await sendKeys({ press: 'Tab' });
      expect(focused(el)?.textContent).to.equal(en.tryAgain);
      await sendKeys({ press: 'Enter' });
      await el.updateComplete;

      expect(focused(el)).to.equal(phoneField(el));
      expect(phoneField(el).value).to.equal(CANCELLED);
    });

    it('does not take focus from elsewhere on the page when the payment ends', async () => {
      const { before, el } = await pageWithCheckout();
      const success = nextEvent(el, 'stk-pay-success');
      await payWith(el, PAID);
      before.focus();

      await success;
      await el.updateComplete;

      expect(document.activeElement).to.equal(before);
    });
  });
});
