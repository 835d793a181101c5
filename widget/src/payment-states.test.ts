/// <reference types="mocha" />
import { aTimeout, expect, waitUntil } from '@open-wc/testing';
import type { FailureCode, PaymentView } from '@stk-pay/server/schemas';
import { statusLines } from './messages.js';
import { en } from './strings.js';
import {
  CANCELLED,
  PAID,
  button,
  checkout,
  nextEvent,
  payWith,
  phoneField,
  recordEvents,
  relayUrl,
  scriptedRelayUrl,
  slowRelayUrl,
  statusText,
  useFetchSpy,
  waitForStatus,
} from './test-helpers.js';

describe('<stk-pay> payment states', () => {
  const fetchSpy = useFetchSpy();

  it('gives a reason for a failure code it does not know (a newer relay): the provider could not complete it', () => {
    const payment = { id: 'pay_x', status: 'failed', seq: 3, failure: { code: 'fraud_block', message: 'x' } } as unknown as PaymentView;
    expect(statusLines(en, { phase: 'failed', payment, refusal: undefined, money: 'KES 250' })).to.deep.equal([en.notPaid, en.failure.provider_error]);
  });

  it('shows Sending… while the relay takes the request, and a second Pay sends nothing', async () => {
    const el = await checkout();
    fetchSpy.current.holdPayments();

    await payWith(el, PAID);
    await el.updateComplete;

    expect(button(el).textContent?.trim()).to.equal(en.sending);
    expect(button(el).getAttribute('aria-disabled')).to.equal('true');
    expect(phoneField(el).readOnly).to.equal(true);
    button(el).click();
    expect(fetchSpy.current.paymentRequests()).to.have.length(1);

    const waiting = nextEvent(el, 'stk-pay-status');
    fetchSpy.current.releasePayments();
    await waiting;
    await el.updateComplete;
    expect(statusText(el)).to.contain(en.checkPhone);
  });

  it('asks the customer to check the phone, with a countdown of the prompt window', async () => {
    const el = await checkout({ relay: slowRelayUrl });

    await payWith(el, PAID);
    await waitForStatus(el, 'stays open for about a minute');

    const status = statusText(el);
    expect(status).to.contain(en.checkPhone);
    expect(status).to.contain('2547•••••149');
    const countdown = () => el.shadowRoot?.querySelector('[role="timer"]')?.textContent ?? '';
    expect(countdown()).to.match(/^(1:00|0:59) left$/);
    await aTimeout(1100);
    expect(countdown()).to.match(/^0:5[89] left$/);
  });

  it('reports each status once, in order, and then Paid with the amount and the M-Pesa receipt', async () => {
    const el = await checkout();
    const statuses = recordEvents(el, 'stk-pay-status');
    const success = nextEvent(el, 'stk-pay-success');

    await payWith(el, PAID);
    const paid = await success;
    await el.updateComplete;

    expect(paid).to.include({ status: 'succeeded', amount: 250, phone: '2547•••••149' });
    expect(paid.receipt).to.match(/^[A-Z0-9]{10}$/);
    expect(statuses.at(-1)).to.deep.equal(paid);
    expect(new Set(statuses.map((payment) => payment.id)).size).to.equal(1);
    const seqs = statuses.map((payment) => payment.seq);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).to.equal(seqs.length, 'each state is reported once');
    const status = statusText(el);
    expect(status).to.contain(en.paid);
    expect(status).to.contain('KES 250');
    expect(status).to.contain(`M-Pesa receipt ${paid.receipt}`);
    expect(sessionStorage.length).to.equal(0, 'a final payment is not resumed');
  });

  it('shows Paid when only the status query finds the payment (no callback ever comes)', async () => {
    const el = await checkout();
    const success = nextEvent(el, 'stk-pay-success');

    await payWith(el, '0700000005');
    const paid = await success;
    await el.updateComplete;

    expect(paid.receipt).to.be.a('string');
    expect(statusText(el)).to.contain(`M-Pesa receipt ${paid.receipt}`);
  });

  const failures: [FailureCode, string, string, string][] = [
    ['cancelled', CANCELLED, relayUrl, 'cancelled'],
    ['insufficient_funds', '0700000002', relayUrl, 'not enough money'],
    ['wrong_pin', '0700000003', relayUrl, 'PIN entered was wrong'],
    ['unreachable', '0700000004', relayUrl, 'could not reach the phone'],
    ['rejected', '0700000007', scriptedRelayUrl, 'refused'],
    ['provider_error', '0700000008', scriptedRelayUrl, 'had a problem'],
    ['timeout', '0700000009', scriptedRelayUrl, 'timed out'],
  ];
  for (const [code, phone, relay, words] of failures) {
    it(`explains a ${code} failure in plain words, and Try again keeps the number`, async () => {
      const el = await checkout({ relay });
      const failure = nextEvent(el, 'stk-pay-failure');

      await payWith(el, phone);
      const failed = await failure;
      await el.updateComplete;

      expect(failed).to.include({ status: 'failed' });
      expect(failed.failure?.code).to.equal(code);
      const status = statusText(el);
      expect(status).to.contain(en.notPaid);
      expect(status).to.contain(en.failure[code]);
      expect(status).to.contain(words);
      expect(status).not.to.match(/\bpaid\b/i);

      button(el).click();
      await el.updateComplete;

      expect(phoneField(el).value).to.equal(phone);
      expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
      expect(statusText(el)).to.equal('');
    });
  }

  it('says it is still confirming once the prompt window has passed, never failed, and then Paid', async () => {
    const el = await checkout({ relay: slowRelayUrl }, (el) => {
      el.promptWindowMs = 300;
    });
    const failures = recordEvents(el, 'stk-pay-failure');
    const success = nextEvent(el, 'stk-pay-success');

    await payWith(el, PAID);
    const status = await waitForStatus(el, en.confirming);

    expect(status).to.contain(en.confirmingDetail);
    expect(status).not.to.contain(en.notPaid);
    expect(el.shadowRoot?.querySelector('button, input')).to.equal(null, 'nothing invites a second payment');
    await success;
    await el.updateComplete;
    expect(statusText(el)).to.contain(en.paid);
    expect(failures).to.have.length(0);
  });

  it('runs a second payment after Try again with a new request', async () => {
    const el = await checkout();
    const failure = nextEvent(el, 'stk-pay-failure');
    await payWith(el, CANCELLED);
    await failure;
    await el.updateComplete;
    button(el).click();
    await el.updateComplete;

    const success = nextEvent(el, 'stk-pay-success');
    await payWith(el, PAID);
    await success;

    const [first, second] = fetchSpy.current.paymentRequests().map((call) => new Headers(call.init?.headers).get('Idempotency-Key'));
    expect(second).to.be.a('string').and.not.equal(first);
    await waitUntil(() => statusText(el).includes(en.paid));
  });
});
