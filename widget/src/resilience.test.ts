/// <reference types="mocha" />
import { aTimeout, expect, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { POLL_INTERVAL_MS, REQUEST_TIMEOUT_MS } from './relay-client.js';
import { en } from './strings.js';
import {
  PAID,
  button,
  checkout,
  deadRelay,
  guardedRelayUrl,
  forgetSlowRelayRequests,
  nextEvent,
  payWith,
  phoneField,
  proxiedRelayUrl,
  proxyMisbehaves,
  recordEvents,
  restartSlowRelay,
  shownText,
  slowRelayRequests,
  slowRelayUrl,
  statusText,
  typePhone,
  useFetchSpy,
  waitForStatus,
  withEventSource,
} from './test-helpers.js';

/** A real EventSource whose every stream fails (404), as behind a proxy that does not pass SSE. */
class FailingEventSource extends EventSource {
  constructor(url: string | URL) {
    super(`${String(url)}-nowhere`);
  }
}

describe('<stk-pay> on a bad network', () => {
  const fetchSpy = useFetchSpy();

  it('resumes its event stream with Last-Event-ID when the relay restarts mid-payment', async () => {
    await forgetSlowRelayRequests();
    const el = await checkout({ relay: slowRelayUrl });
    const statuses = recordEvents(el, 'stk-pay-status');
    const success = nextEvent(el, 'stk-pay-success');
    await payWith(el, PAID);
    await waitUntil(() => statuses.some((payment) => payment.status === 'awaiting_customer'), 'never awaiting the customer');
    const lastSeen = statuses.at(-1)!;

    // The relay goes away with the stream open, and the sandbox's callback with it; it is back as
    // soon as it can start. (Down longer, EventSource's third failed reconnection would send the
    // widget to polling first: on a loaded machine the start alone took long enough, once.)
    await restartSlowRelay(0);
    const paid = await success;

    expect(paid.id).to.equal(lastSeen.id);
    const streams = (await slowRelayRequests()).filter((request) => request.url.endsWith(`/${paid.id}/events`));
    expect(streams.length).to.be.at.least(2);
    expect(streams[0]?.lastEventId).to.equal(undefined);
    expect(streams[1]?.lastEventId).to.equal(String(lastSeen.seq));
    // Not asserted: that no status query was needed. The relay answers a resumed stream that has
    // nothing new yet with an empty 200 instead of keeping it open, so EventSource gives up and the
    // widget asks `GET /v1/payments/:id` once and opens a fresh stream (reported to the relay's owners).
    expect(fetchSpy.current.paymentRequests()).to.have.length(1);
  }).timeout(15_000);

  const withoutStreams: [string, typeof EventSource | undefined][] = [
    ['where EventSource is missing', undefined],
    ['when the event stream keeps failing', FailingEventSource],
  ];
  for (const [when, eventSource] of withoutStreams) {
    it(`follows the payment by polling ${when}`, async () => {
      await withEventSource(eventSource, async () => {
        const el = await checkout();
        const success = nextEvent(el, 'stk-pay-success');

        await payWith(el, PAID);
        const paid = await success;

        expect(paid.status).to.equal('succeeded');
        expect(fetchSpy.current.statusQueries(paid.id).length).to.be.at.least(2);
      });
    }).timeout(4 * POLL_INTERVAL_MS);
  }

  it('asks the relay at once when the network comes back', async () => {
    await withEventSource(undefined, async () => {
      const el = await checkout();
      const statuses = recordEvents(el, 'stk-pay-status');
      const success = nextEvent(el, 'stk-pay-success');
      await payWith(el, PAID);
      await waitUntil(() => statuses.length > 0);
      const start = performance.now();

      await aTimeout(600); // the relay has the answer by now; the next poll is seconds away
      window.dispatchEvent(new Event('online'));
      await success;

      expect(performance.now() - start).to.be.below(POLL_INTERVAL_MS - 500);
    });
  });

  it('follows the open payment after a reload instead of sending a second prompt', async () => {
    const first = await checkout({ relay: slowRelayUrl });
    const created = nextEvent(first, 'stk-pay-status');
    await payWith(first, PAID);
    const { id } = await created;

    // What a reload does to the page: this element goes, a new one with the same attributes comes.
    first.remove();
    let success: Promise<{ id: string }> | undefined;
    const second = await checkout({ relay: slowRelayUrl }, (el) => {
      success = nextEvent(el, 'stk-pay-success');
    });

    expect(shownText(second)).to.contain(en.checkPhone);
    expect(second.shadowRoot?.querySelector('input')).to.equal(null);
    expect((await success!).id).to.equal(id);
    expect(fetchSpy.current.paymentRequests()).to.have.length(1);
    expect(sessionStorage.length).to.equal(0);
  });

  it('follows a Pay sent by the element it replaced (a framework re-rendering) instead of offering Pay again', async () => {
    fetchSpy.current.holdPayments();
    const first = await checkout();
    await payWith(first, PAID);
    await waitUntil(() => fetchSpy.current.paymentRequests().length === 1);

    // A React key change or a Vue v-if swaps the element while its Pay request is on its way.
    first.remove();
    let success: Promise<{ id: string }> | undefined;
    const second = await checkout({}, (el) => {
      success = nextEvent(el, 'stk-pay-success');
    });
    expect(button(second).textContent?.trim()).to.equal(en.sending);
    expect(phoneField(second).readOnly).to.equal(true);

    fetchSpy.current.releasePayments();
    await waitForStatus(second, en.checkPhone);
    expect(second.shadowRoot?.querySelector('input')).to.equal(null);
    await success;
    expect(fetchSpy.current.paymentRequests()).to.have.length(1);
  });

  it('sends the same Pay request again after a reload when its answer was lost, and follows the payment it made: no second prompt', async () => {
    fetchSpy.current.loseNextPaymentAnswer();
    const first = await checkout({ relay: slowRelayUrl });
    await payWith(first, PAID);
    await waitUntil(() => button(first).textContent?.trim() === 'Pay KES 250', 'the lost answer never showed');

    // The customer reloads (or the phone's browser restores a discarded tab).
    first.remove();
    let success: Promise<{ id: string }> | undefined;
    const second = await checkout({ relay: slowRelayUrl }, (el) => {
      success = nextEvent(el, 'stk-pay-success');
    });
    const { id } = await success!;
    const [sent, resent] = fetchSpy.current.paymentRequests();
    expect(resent, 'the request was sent again').to.not.equal(undefined);
    const keyOf = (call: typeof sent) => new Headers(call!.init?.headers).get('Idempotency-Key');
    expect(keyOf(resent)).to.equal(keyOf(sent));
    expect(resent!.init?.body).to.equal(sent!.init?.body);
    expect(fetchSpy.current.paymentRequests()).to.have.length(2);
    // The relay answered the second with the payment the first made.
    expect(id).to.equal((fetchSpy.current.lostAnswers[0] as { id: string }).id);
    expect(shownText(second)).to.contain(en.paid);
    expect(sessionStorage.length).to.equal(0);
  });

  it('does not send a refused Pay request again after a reload', async () => {
    const first = await checkout({ relay: slowRelayUrl, 'publishable-key': 'pk_test_nobody' });
    await payWith(first, PAID);
    await waitUntil(() => button(first).textContent?.trim() === 'Pay KES 250');
    first.remove();
    await checkout({ relay: slowRelayUrl, 'publishable-key': 'pk_test_nobody' });
    await aTimeout(200);
    expect(fetchSpy.current.paymentRequests()).to.have.length(1);
    expect(sessionStorage.length).to.equal(0);
  });

  it('offers Pay again in the element that replaced one whose Pay request got no answer', async () => {
    fetchSpy.current.holdPayments();
    const first = await checkout({ relay: deadRelay });
    await payWith(first, PAID);
    await waitUntil(() => fetchSpy.current.paymentRequests().length === 1);

    first.remove();
    const second = await checkout({ relay: deadRelay });
    expect(button(second).textContent?.trim()).to.equal(en.sending);

    fetchSpy.current.releasePayments();
    await waitUntil(() => button(second).textContent?.trim() === 'Pay KES 250', 'Pay never came back');
    expect(phoneField(second).readOnly).to.equal(false);
    // The request is kept, with its key, for a reload to send again (it may have reached the relay).
    const kept = JSON.parse(sessionStorage.getItem(sessionStorage.key(0)!)!) as { id?: string; key?: string };
    expect(kept.id).to.equal(undefined);
    expect(kept.key).to.equal(new Headers(fetchSpy.current.paymentRequests()[0]!.init?.headers).get('Idempotency-Key'));
  });

  it("does not take the open payment of another product of the same price for this one's", async () => {
    const first = await checkout({ relay: slowRelayUrl, reference: false, description: 'Product A' });
    const created = nextEvent(first, 'stk-pay-status');
    await payWith(first, PAID);
    await created;

    // The customer moves on, in the same tab, to another product at the same price.
    first.remove();
    const second = await checkout({ relay: slowRelayUrl, reference: false, description: 'Product B' });
    await aTimeout(300);
    expect(second.shadowRoot?.querySelector('input')).to.not.equal(null);
    expect(shownText(second)).to.not.contain(en.checkPhone);
  });

  it('shows the form again after a reload when the relay no longer knows the payment', async () => {
    sessionStorage.setItem('stk-pay:pk_test_demo:250:INV-9:Two mangoes', JSON.stringify({ id: 'pay_0000000000000000000000', sentAt: Date.now() }));

    const el = await checkout();
    await waitUntil(() => el.shadowRoot?.querySelector('input') !== null, 'the form never came back');

    expect(button(el).textContent?.trim()).to.equal('Pay KES 250');
    expect(sessionStorage.length).to.equal(0);
  });

  it('sends one payment when Pay is clicked twice', async () => {
    const el = await checkout();
    const statuses = recordEvents(el, 'stk-pay-status');
    const success = nextEvent(el, 'stk-pay-success');
    await typePhone(el, '0711222333');

    button(el).click();
    button(el).click();
    await success;
    await aTimeout(100);

    expect(fetchSpy.current.paymentRequests()).to.have.length(1);
    expect(new Set(statuses.map((payment) => payment.id)).size).to.equal(1);
  });

  it("says it can't reach the payment service when the relay is down, and stays usable", async () => {
    const el = await checkout({ relay: deadRelay });
    const error = nextEvent(el, 'stk-pay-error');

    await payWith(el, PAID);

    expect((await error).code).to.equal('network_error');
    await el.updateComplete;
    expect(statusText(el)).to.equal(en.unreachable);
    expect(button(el).disabled).to.equal(false);
    expect(phoneField(el).value).to.equal(PAID);
  });

  it("shows the relay's own words when it refuses a second prompt to a phone that has one open (429)", async () => {
    // A number of this page's own: the guarded relay keeps its prompt open for the whole run, and
    // the suite runs twice (sources, then the built script) against the same relays.
    const phone = `0712${String(Math.random()).slice(2, 8).padEnd(6, '0')}`;
    const first = await checkout({ relay: guardedRelayUrl, amount: '100' });
    await payWith(first, phone);
    await waitForStatus(first, en.checkPhone);

    const second = await checkout({ relay: guardedRelayUrl, amount: '200' });
    const error = nextEvent(second, 'stk-pay-error');
    await payWith(second, phone);
    expect((await error).code).to.equal('phone_busy');
    await second.updateComplete;
    expect(statusText(second)).to.match(/A payment prompt is already open on this phone/);
    expect(button(second).disabled).to.equal(false);

    const swahili = await checkout({ relay: guardedRelayUrl, amount: '300', lang: 'sw' });
    await payWith(swahili, phone);
    await waitForStatus(swahili, /Majaribio ni mengi mno/);
  });

  it('retries the same attempt with the same Idempotency-Key, and a changed one with a new key', async () => {
    const el = await checkout({ relay: deadRelay });
    const errors = recordEvents(el, 'stk-pay-error');

    await payWith(el, PAID);
    await waitUntil(() => errors.length === 1);
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => errors.length === 2);
    await sendKeys({ press: 'Backspace' });
    await sendKeys({ type: '8' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => errors.length === 3);

    const keys = fetchSpy.current.paymentRequests().map((call) => new Headers(call.init?.headers).get('Idempotency-Key'));
    expect(keys).to.have.length(3);
    expect(keys[0]).to.match(/^[\x21-\x7e]{8,255}$/);
    expect(keys[1]).to.equal(keys[0]);
    expect(keys[2]).to.not.equal(keys[0]);
  });

  it('keeps following the payment when a proxy answers a status query with its own 404 page', async () => {
    await withEventSource(undefined, async () => {
      const el = await checkout({ relay: proxiedRelayUrl });
      const success = nextEvent(el, 'stk-pay-success');
      await proxyMisbehaves('html-404', 2);
      await payWith(el, PAID);
      expect((await success).status).to.equal('succeeded');
      expect(fetchSpy.current.paymentRequests()).to.have.length(1);
    });
  }).timeout(6 * POLL_INTERVAL_MS);

  it('asks again when a status query never answers, instead of waiting for it for good', async () => {
    await withEventSource(undefined, async () => {
      const el = await checkout({ relay: proxiedRelayUrl });
      const success = nextEvent(el, 'stk-pay-success');
      await proxyMisbehaves('hang', 1);
      await payWith(el, PAID);
      // The network comes back while that query hangs: asked again only once it has timed out.
      await aTimeout(500);
      window.dispatchEvent(new Event('online'));
      expect((await success).status).to.equal('succeeded');
    });
  }).timeout(REQUEST_TIMEOUT_MS + 4 * POLL_INTERVAL_MS);

  it('follows the payment of the last Pay when reset() came while an earlier one was being sent', async () => {
    // Each payment request waits at its own gate, so the first can be answered before the second.
    const spied = window.fetch;
    const gates: (() => void)[] = [];
    let posts = 0;
    window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'POST') await new Promise<void>((resolve) => (gates[posts++] = resolve));
      return spied(input, init);
    };
    try {
      const el = await checkout();
      const failures = recordEvents(el, 'stk-pay-failure');
      const success = nextEvent(el, 'stk-pay-success');
      await payWith(el, '0700000001');
      await waitUntil(() => posts === 1);
      el.reset();
      el.setAttribute('amount', '400');
      await el.updateComplete;
      await payWith(el, PAID);
      await waitUntil(() => posts === 2);
      gates[0]!();
      await aTimeout(300);
      gates[1]!();
      const paid = await success;
      expect(paid.amount).to.equal(400);
      await aTimeout(500);
      expect(failures).to.have.length(0);
      expect(statusText(el)).to.contain('KES 400');
    } finally {
      window.fetch = spied;
      for (const gate of gates) gate();
    }
  }).timeout(10_000);

  it('takes the payment once the relay is back, on Pay again', async () => {
    const el = await checkout({ relay: deadRelay });
    const error = nextEvent(el, 'stk-pay-error');
    await payWith(el, PAID);
    await error;

    el.relay = slowRelayUrl;
    await el.updateComplete;
    const started = nextEvent(el, 'stk-pay-status');
    await sendKeys({ press: 'Enter' });

    await started;
    await waitForStatus(el, en.checkPhone);
  });
});
