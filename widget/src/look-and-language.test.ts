/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import { emulateMedia } from '@web/test-runner-commands';
import type { StkPay } from './stk-pay.component.js';
import { en, sw, type Strings } from './strings.js';
import {
  CANCELLED,
  PAID,
  button,
  checkout,
  nextEvent,
  part,
  payWith,
  phoneField,
  relayUrl,
  statusText,
  useFetchSpy,
} from './test-helpers.js';

/** Every leaf of a strings table, by path; functions called with a marker. */
function leaves(table: Strings): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'string') found.set(path, value);
    else if (typeof value === 'function') found.set(path, String((value as (arg: string) => string)('<x>')));
    else for (const [key, inner] of Object.entries(value as object)) walk(inner, path ? `${path}.${key}` : key);
  };
  walk(table, '');
  return found;
}

describe('<stk-pay> look and language', () => {
  useFetchSpy();

  it('applies the theming custom properties set by the page', async () => {
    const el = await checkout({
      style:
        '--stk-pay-accent: rgb(10, 20, 30); --stk-pay-accent-text: rgb(250, 250, 240); --stk-pay-text: rgb(40, 50, 60);' +
        ' --stk-pay-background: rgb(255, 250, 240); --stk-pay-radius: 20px; --stk-pay-font: Georgia, serif; --stk-pay-spacing: 24px;',
    });
    const base = getComputedStyle(part(el, 'base'));
    const pay = getComputedStyle(button(el));

    expect(pay.backgroundColor).to.equal('rgb(10, 20, 30)');
    expect(pay.color).to.equal('rgb(250, 250, 240)');
    expect(base.color).to.equal('rgb(40, 50, 60)');
    expect(base.backgroundColor).to.equal('rgb(255, 250, 240)');
    expect(base.borderTopLeftRadius).to.equal('20px');
    expect(pay.borderTopLeftRadius).to.equal('10px');
    expect(base.fontFamily).to.equal('Georgia, serif');
    expect(base.paddingTop).to.equal('24px');
  });

  it("keeps the reader's own text size on a page whose root font size is 10px (Bootstrap 3), so the field stays at 16px or more", async () => {
    const root = document.documentElement;
    root.style.fontSize = '10px';
    try {
      const el = await checkout();
      expect(getComputedStyle(phoneField(el)).fontSize).to.equal('18px');
      expect(getComputedStyle(el.shadowRoot!.querySelector('.amount')!).fontSize).to.equal('28px');
      expect(button(el).getBoundingClientRect().height).to.be.at.least(44);
    } finally {
      root.style.fontSize = '';
    }
  });

  it("wraps its text inside a page's white-space: nowrap (a table cell), so the card stays as wide as its container", async () => {
    const wrapper = await fixture<HTMLDivElement>(html`<div style="width: 300px; white-space: nowrap"><stk-pay amount="250" reference="INV-9" description="A description long enough to need more than one line in three hundred pixels" publishable-key="pk_test_demo" relay=${relayUrl}></stk-pay></div>`);
    const el = wrapper.querySelector('stk-pay') as StkPay;
    await el.updateComplete;
    expect(part(el, 'base').scrollWidth).to.be.at.most(300);
  });

  it('reads left to right on a right-to-left page, and keeps a visible placeholder and button edge', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`<div dir="rtl"><stk-pay amount="250" publishable-key="pk_test_demo" relay=${relayUrl}></stk-pay></div>`);
    const el = wrapper.querySelector('stk-pay') as StkPay;
    await el.updateComplete;
    expect(getComputedStyle(part(el, 'base')).direction).to.equal('ltr');
    // The muted text colour (about 7:1), not the browser's grey (3.7:1 on the dark card).
    expect(getComputedStyle(phoneField(el), '::placeholder').color).to.equal('rgb(83, 91, 87)');
    // Transparent, so unseen, but drawn in forced colours (Windows high contrast), where the fill is not.
    const pay = getComputedStyle(button(el));
    expect([pay.borderTopStyle, pay.borderTopWidth]).to.deep.equal(['solid', '1px']);
  });

  it('lets the page style its parts', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`
      <div>
        <style>
          .themed::part(button) { text-transform: uppercase; }
          .themed::part(amount) { letter-spacing: 3px; }
        </style>
        <stk-pay class="themed" amount="250" publishable-key="pk_test_demo" relay=${relayUrl}></stk-pay>
      </div>
    `);
    const el = wrapper.querySelector('stk-pay') as StkPay;
    await el.updateComplete;

    expect(getComputedStyle(button(el)).textTransform).to.equal('uppercase');
    expect(getComputedStyle(part(el, 'amount')).letterSpacing).to.equal('3px');
  });

  it('follows a dark colour scheme, and still passes the audit there', async () => {
    const light = getComputedStyle(part(await checkout(), 'base')).backgroundColor;
    await emulateMedia({ colorScheme: 'dark' });
    try {
      const el = await checkout();

      expect(getComputedStyle(part(el, 'base')).backgroundColor).not.to.equal(light);
      await expect(el).to.be.accessible();
    } finally {
      await emulateMedia({ colorScheme: 'light' });
    }
  });

  it('fits a 320 px wide screen', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`
      <div style="width: 320px">
        <stk-pay
          amount="150000"
          reference="INVOICE-2024-000000000123"
          description="A rather long description of what is being paid for, longer than one line"
          publishable-key="pk_test_demo"
          relay=${relayUrl}
        ></stk-pay>
      </div>
    `);
    const base = part(wrapper.querySelector('stk-pay') as StkPay, 'base');

    expect(base.getBoundingClientRect().width).to.be.at.most(320);
    expect(base.scrollWidth).to.be.at.most(base.clientWidth);
  });

  it('has every string in Swahili, from the same table', () => {
    const english = leaves(en);
    const swahili = leaves(sw);

    expect([...swahili.keys()]).to.deep.equal([...english.keys()]);
    for (const [path, text] of swahili) expect(text, path).to.not.equal(english.get(path));
  });

  it('speaks Swahili with lang="sw": the form, Paid with the receipt, and a cancellation', async () => {
    const el = await checkout({ lang: 'sw' });
    expect(phoneField(el).labels?.[0]?.textContent).to.equal('Nambari ya simu ya M-Pesa');
    expect(button(el).textContent?.trim()).to.equal('Lipa KES 250');
    expect(part(el, 'base').lang).to.equal('sw');
    await expect(el).to.be.accessible();

    const success = nextEvent(el, 'stk-pay-success');
    await payWith(el, PAID);
    const paid = await success;
    await el.updateComplete;
    expect(statusText(el)).to.contain('Imelipwa');
    expect(statusText(el)).to.contain(`Nambari ya risiti ya M-Pesa ${paid.receipt}`);
    await expect(el).to.be.accessible();

    const cancelled = await checkout({ lang: 'sw', reference: 'INV-12' });
    const failure = nextEvent(cancelled, 'stk-pay-failure');
    await payWith(cancelled, CANCELLED);
    await failure;
    await cancelled.updateComplete;
    expect(statusText(cancelled)).to.contain('Malipo yameghairiwa');
    expect(button(cancelled).textContent).to.equal('Jaribu tena');
  });

  it("marks the relay's English detail quoted in a Swahili sentence as English, for a screen reader's voice", async () => {
    const el = await checkout({ lang: 'sw', amount: '200000' });
    const error = nextEvent(el, 'stk-pay-error');
    await payWith(el, PAID);
    await error;
    await el.updateComplete;
    expect(statusText(el)).to.contain('Malipo hayakuweza kuanzishwa');
    const quoted = part(el, 'status').querySelector('[lang="en"]');
    expect(quoted?.textContent).to.match(/accepts KES 1 to KES 150,000/);
  });

  it('explains a wrong number in Swahili', async () => {
    const el = await checkout({ lang: 'sw-KE' });
    await payWith(el, '0708');
    await el.updateComplete;

    expect(part(el, 'field').querySelector('.error')?.textContent).to.equal(sw.phone.length);
  });

  it("follows the browser's language when lang is not set", async () => {
    const english = await checkout();
    expect(button(english).textContent?.trim()).to.equal('Pay KES 250');

    Object.defineProperty(navigator, 'language', { value: 'sw-KE', configurable: true });
    try {
      const swahili = await checkout();
      expect(button(swahili).textContent?.trim()).to.equal('Lipa KES 250');
    } finally {
      delete (navigator as { language?: string }).language;
    }
    expect(navigator.language).not.to.equal('sw-KE');
  });
});
