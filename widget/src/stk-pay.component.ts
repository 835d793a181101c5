import { html, nothing } from 'lit/html.js';
import { normalizePhone, type PhoneResult } from '@stk-pay/server/phone';
import type { PaymentView } from '@stk-pay/server/schemas';
import { emit } from './events.js';
import { forgetOpenPayment, openPaymentKey, readOpenPayment, saveOpenPayment } from './open-payment.js';
import { clock, statusLines, type Phase, type Refusal } from './messages.js';
import { createPayment, isTerminal, newIdempotencyKey, watchPayment, type NewPayment, type Watch } from './relay-client.js';
import { STRINGS, en, languageOf, type Strings } from './strings.js';
import { ReactiveElement, type PropertyDeclaration, type PropertyValues } from './reactive-element.js';
import styles from './stk-pay.styles.js';

/** The relay this script came from: a classic script's `src` (read now, `document.currentScript` is
 * null later), else the ES module's own URL (undefined in the classic build), else the page. */
const scriptOrigin = originOf((document.currentScript as HTMLScriptElement | null)?.src || import.meta.url);

/** A property without an attribute: a property only, or internal state. */
const noAttribute: PropertyDeclaration = { attribute: false };

type PhoneProblem = Extract<PhoneResult, { ok: false }>['reason'];

/** Pay requests on their way, by checkout: an element that replaces the one that sent it (a
 * framework re-rendering) waits for the answer, then follows the payment, instead of offering Pay. */
const sending: Record<string, Promise<unknown>> = {};

/**
 * @summary M-Pesa checkout: takes a phone number, sends the STK push through the merchant's relay and follows it to the end.
 *
 * @event stk-pay-submit - Pay was pressed with a valid number; `detail` is what will be sent. Cancelable: `preventDefault()` sends nothing.
 * @event stk-pay-status - The payment changed state; `detail` is the payment.
 * @event stk-pay-success - The provider confirmed the payment; `detail` is the payment, with `receipt` when known.
 * @event stk-pay-failure - The provider confirmed the payment failed; `detail.failure.code` says why.
 * @event stk-pay-error - No payment could be started (relay unreachable or refused); `detail` is `{ code, message, status? }`.
 *
 * @csspart base - The card around everything.
 * @csspart amount - The amount, reference and description.
 * @csspart field - The phone number label, input and its explanation.
 * @csspart button - The Pay and Try again buttons.
 * @csspart status - The progress, success, failure or error message (a polite live region).
 *
 * @cssproperty --stk-pay-accent - Button and success colour (default an accessible M-Pesa green; lighter in dark mode).
 * @cssproperty --stk-pay-accent-text - Text colour on the accent.
 * @cssproperty --stk-pay-text - Text colour.
 * @cssproperty --stk-pay-muted - Secondary text colour.
 * @cssproperty --stk-pay-background - Card and input background.
 * @cssproperty --stk-pay-border - Border colour.
 * @cssproperty --stk-pay-error - Colour of errors and failures.
 * @cssproperty --stk-pay-radius - Corner radius of the card (controls get half).
 * @cssproperty --stk-pay-font - Font family.
 * @cssproperty --stk-pay-spacing - Space inside the card and between its pieces.
 */
export class StkPay extends ReactiveElement {
  static override styles = styles;

  static override properties: Record<string, PropertyDeclaration> = {
    amount: { type: Number },
    reference: {},
    description: {},
    publishableKey: { attribute: 'publishable-key' },
    relay: {},
    token: {},
    phone: {},
    lang: {},
    disabled: { type: Boolean, reflect: true },
    promptWindowMs: noAttribute,
    phase: noAttribute,
    typed: noAttribute,
    phoneProblem: noAttribute,
    refusal: noAttribute,
    payment: noAttribute,
  };

  /** The number typed, checked; blind to the invisible format characters (direction marks,
   * zero-width spaces) that a number copied from a chat app (WhatsApp) carries. */
  get #phone(): PhoneResult {
    return normalizePhone(this.typed);
  }

  get #phoneInput(): HTMLInputElement | null {
    return this.renderRoot.querySelector('input');
  }

  private declare phase: Phase;
  /** As typed, so Try again shows the customer's own digits. */
  private declare typed: string;
  private declare phoneProblem: PhoneProblem | undefined;
  private declare refusal: Refusal | undefined;
  private declare payment: PaymentView | undefined;
  #watch: Watch | undefined;
  /** The payment followed (also while resuming, before its first state arrives). */
  #followedId: string | undefined;
  /** Reused while the customer retries the same request after no answer; see `#handleSubmit`. */
  #attempt: { key: string; body: string } | undefined;
  /** The sessionStorage entry of the open payment, and when its prompt was sent. */
  #openKey = '';
  #sentAt = 0;
  #ticker: ReturnType<typeof setTimeout> | undefined;
  #focusWasInside = false;
  #loggedProblem = '';
  /** The checkout (key, amount, reference, description) last set up right: looked up once each. */
  #lookedUp = '';

  /** Whole Kenyan shillings to charge. */
  declare amount: number;
  /** The merchant's reference (invoice or order number), shown to the customer. */
  declare reference: string;
  /** What the payment is for, shown under the amount. */
  declare description: string;
  /** The merchant's publishable key (`pk_…`). */
  declare publishableKey: string;
  /** Base URL of the relay; defaults to the origin this script was loaded from. */
  declare relay: string;
  /** A checkout token signed by the merchant's backend; sent with the payment for the relay to check. */
  declare token: string;
  /** A phone number to fill in; the customer can change it. */
  declare phone: string;
  /** `en` or `sw`; defaults to the browser's language. */
  declare lang: string;
  /** Shows the checkout but does not let it start a payment. */
  declare disabled: boolean;
  /** How long the PIN prompt stays open on the phone (property only; M-Pesa: about a minute). */
  declare promptWindowMs: number;

  constructor() {
    super();
    this.phase = 'ready';
    this.typed = '';
    this.amount = Number.NaN;
    this.reference = '';
    this.description = '';
    this.publishableKey = '';
    this.relay = scriptOrigin;
    this.token = '';
    this.phone = '';
    this.lang = '';
    this.disabled = false;
    this.promptWindowMs = 60_000;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('online', this.#handleWake);
    document.addEventListener('visibilitychange', this.#handleWake);
    // Moved in the DOM while a payment is open: follow it again.
    if (this.#followedId !== undefined) this.#follow(this.#followedId);
  }

  disconnectedCallback(): void {
    removeEventListener('online', this.#handleWake);
    document.removeEventListener('visibilitychange', this.#handleWake);
    this.#watch?.stop();
    clearTimeout(this.#ticker);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('phone')) this.typed = this.phone ?? '';
    const problem = this.#setupProblem(en);
    if (problem && problem !== this.#loggedProblem) console.error(`<stk-pay> is not set up: ${problem}`, this);
    this.#loggedProblem = problem;
    if (!problem) this.#resume();
    if (this.phase === 'waiting' && this.#timeLeft() <= 0) this.phase = 'confirming';
    this.#focusWasInside = this.shadowRoot?.activeElement != null;
  }

  protected override updated(changed: PropertyValues): void {
    clearTimeout(this.#ticker);
    // The countdown: next whole second, or the end of the prompt window.
    if (this.phase === 'waiting') this.#ticker = setTimeout(() => this.requestUpdate(), this.#timeLeft() % 1000 || 1000);
    // Focus follows the customer's flow, never taken from elsewhere on the page.
    if (!changed.has('phase') || !this.#focusWasInside) return;
    // Back to the field after Try again or reset(); after a refused Pay it stays on the button.
    if (this.phase === 'ready') {
      if (changed.get('phase') !== 'sending') this.#phoneInput?.focus();
    } else if (this.phase !== 'sending') this.renderRoot.querySelector<HTMLElement>('.headline')?.focus();
  }

  readonly #handleWake = (): void => {
    if (document.visibilityState !== 'hidden') this.#watch?.refresh();
  };

  #handlePhoneInput(event: InputEvent): void {
    this.typed = (event.target as HTMLInputElement).value;
    if (this.phoneProblem !== undefined && this.#phone.ok) this.phoneProblem = undefined;
  }

  async #handleSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.phase !== 'ready' || this.disabled) return;
    const phone = this.#phone;
    if (!phone.ok) {
      this.phoneProblem = phone.reason;
      this.#phoneInput?.focus();
      return;
    }
    this.phoneProblem = undefined;
    this.refusal = undefined;
    const body: NewPayment = { amount: +this.amount, phone: phone.msisdn };
    if (this.reference) body.reference = this.reference;
    if (this.description) body.description = this.description;
    if (this.token) body.token = this.token;
    if (!emit(this, 'stk-pay-submit', { ...body }, true)) return;
    // One key per attempt; the same key only when the same request is sent again.
    const serialized = JSON.stringify(body);
    if (this.#attempt?.body !== serialized) this.#attempt = { key: newIdempotencyKey(), body: serialized };
    this.#send(this.#attempt);
  }

  /** Sends the Pay request, kept first in sessionStorage: a reload before its answer sends it again. */
  async #send(attempt: { key: string; body: string }): Promise<void> {
    this.phase = 'sending';
    const key = (this.#openKey = openPaymentKey(this));
    saveOpenPayment(key, { ...attempt, sentAt: Date.now() });
    const outcome = await (sending[key] = createPayment(this.#relay(), this.publishableKey, attempt.body, attempt.key));
    delete sending[key];
    // reset() meanwhile, perhaps followed by another Pay: this answer is no longer the one awaited.
    if (this.phase !== 'sending' || this.#attempt !== attempt) return;
    if (!outcome.ok) return this.#handleRefusal(outcome);
    this.#attempt = undefined;
    this.#sentAt = Date.now();
    if (!isTerminal(outcome.payment)) {
      saveOpenPayment(key, { id: outcome.payment.id, sentAt: this.#sentAt });
      // Removed meanwhile: connectedCallback follows it if the element comes back.
      if (this.isConnected) this.#follow(outcome.payment.id);
      else this.#followedId = outcome.payment.id;
    }
    this.#handlePayment(outcome.payment);
  }

  #handlePayment(payment: PaymentView): void {
    if (this.payment !== undefined && (payment.id !== this.payment.id || payment.seq <= this.payment.seq)) return;
    this.payment = payment;
    if (payment.status === 'succeeded' || payment.status === 'failed') {
      this.phase = payment.status;
      this.#followedId = undefined;
      forgetOpenPayment(this.#openKey);
    } else if (this.phase !== 'confirming') {
      this.phase = 'waiting';
    }
    emit(this, 'stk-pay-status', payment);
    if (payment.status === 'succeeded') emit(this, 'stk-pay-success', payment);
    if (payment.status === 'failed') emit(this, 'stk-pay-failure', payment);
  }

  #handleRefusal(outcome: Refusal): void {
    const { status, error } = outcome;
    // No answer or a server fault: the payment may exist, so a retry must reuse the key.
    // Refused: no payment was made, and a reload must not send it again.
    if (status !== undefined && status < 500) {
      this.#attempt = undefined;
      forgetOpenPayment(this.#openKey);
    }
    if (status === 401 || status === 403) console.error(`<stk-pay>: the relay refused this checkout: ${error.message}`);
    // The relay checks numbers as the widget does; should they ever disagree, explain it at the field.
    // (A 429 about the phone is a rule of the relay's, not a bad number: its words are shown.)
    if (status === 400 && error.details?.some((detail) => detail.field === 'phone')) this.phoneProblem = 'prefix';
    else this.refusal = outcome;
    this.phase = 'ready';
    emit(this, 'stk-pay-error', status === undefined ? error : { ...error, status });
  }

  /** Forgets the current payment (it does not cancel it on the phone) and shows the form again, with the `phone` attribute's number. */
  reset(): void {
    this.#startOver();
    this.typed = this.phone ?? '';
    this.#attempt = undefined;
  }

  /** Sets focus on the phone number field. */
  override focus(options?: FocusOptions): void {
    this.#phoneInput?.focus(options);
  }

  /** Try again, and the first half of reset(). */
  #startOver(): void {
    this.#watch?.stop();
    this.#watch = undefined;
    this.#followedId = undefined;
    forgetOpenPayment(this.#openKey);
    this.payment = undefined;
    this.refusal = undefined;
    this.phoneProblem = undefined;
    this.phase = 'ready';
  }

  /**
   * Once per checkout (key, amount, reference, description) set up right. After Paid, another one
   * is another order (a single-page shop moved on): start over. Then, a prompt sent earlier from
   * this tab (the page was reloaded): follow it instead of offering Pay.
   */
  #resume(): void {
    const key = openPaymentKey(this);
    if (key === this.#lookedUp) return;
    this.#lookedUp = key;
    if (this.phase === 'succeeded') this.#startOver();
    if (this.phase !== 'ready') return;
    if (sending[key]) {
      this.phase = 'sending';
      sending[key].finally(() => {
        this.#lookedUp = '';
        this.phase = 'ready';
      });
      return;
    }
    const open = readOpenPayment(key);
    if (open === undefined) return;
    this.#openKey = key;
    // A Pay request whose answer never came here: the same request again, for the payment it made.
    // Not after two minutes: the customer has moved on, and an old key may have been forgotten.
    if (!open.id) {
      if (Date.now() - open.sentAt < 120_000) this.#send((this.#attempt = open as { key: string; body: string }));
      return;
    }
    this.#sentAt = open.sentAt;
    this.phase = 'waiting';
    this.#follow(open.id);
  }

  #follow(id: string): void {
    this.#watch?.stop();
    this.#followedId = id;
    this.#watch = watchPayment(
      this.#relay(),
      id,
      (payment) => this.#handlePayment(payment),
      () => this.#startOver(),
    );
  }

  #relay(): string {
    return this.relay || scriptOrigin;
  }

  /** What the merchant got wrong, or '' when the checkout can take payments. */
  #setupProblem(t: Strings): string {
    if (!this.publishableKey) return t.noKey;
    return this.#hasValidAmount() ? '' : t.badAmount;
  }

  #hasValidAmount(): boolean {
    // A framework may set the property to the attribute's text (React 19, Preact, Vue).
    return Number.isInteger(+this.amount) && this.amount > 0;
  }

  #timeLeft(): number {
    return this.#sentAt + this.promptWindowMs - Date.now();
  }

  /** The amount, formatted: the payment's own once there is one (the attribute may have changed). */
  #money(amount = +this.amount): string {
    return `KES ${amount.toLocaleString('en-KE')}`;
  }

  #renderForm(t: Strings) {
    const sending = this.phase === 'sending';
    const problem = this.phoneProblem;
    return html`
      <form novalidate @submit=${this.#handleSubmit}>
        <div part="field" class="field">
          <label for="phone">${t.phoneLabel}</label>
          <input
            id="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            placeholder="07XX XXX XXX"
            .value=${this.typed}
            ?readonly=${sending}
            ?disabled=${this.disabled}
            aria-invalid=${!!problem}
            aria-describedby=${problem ? 'phone-error' : nothing}
            @input=${this.#handlePhoneInput}
          />
          <p id="phone-error" class="error" role="alert" ?hidden=${!problem}>${problem ? t.phone[problem] : ''}</p>
        </div>
        <button part="button" type="submit" ?disabled=${this.disabled} aria-disabled=${sending ? 'true' : nothing}>
          ${sending ? t.sending : t.pay(this.#money())}
        </button>
      </form>
    `;
  }

  override render() {
    const lang = languageOf(this.lang || navigator.language);
    const t = STRINGS[lang];
    // A payment under way is shown as it goes (its amount is its own), even while a framework's
    // re-render leaves the amount invalid: only a checkout about to take a Pay is misconfigured.
    const problem = this.phase === 'ready' ? this.#setupProblem(t) : '';
    const phase = problem ? 'misconfigured' : this.phase;
    const money = this.#money(this.payment?.amount);
    const lines = problem ? [t.misconfigured, problem] : statusLines(t, { phase: this.phase, payment: this.payment, refusal: this.refusal, money });
    return html`
      <div part="base" class="base" dir="ltr" lang=${lang}>
        <div part="amount" class="summary">
          ${this.payment || this.#hasValidAmount() ? html`<span class="amount">${money}</span>` : nothing}
          ${this.reference ? html`<span class="muted">${t.reference} ${this.reference}</span>` : nothing}
          ${this.description ? html`<span class="muted">${this.description}</span>` : nothing}
        </div>
        ${phase === 'ready' || phase === 'sending' ? this.#renderForm(t) : nothing}
        <div part="status" class="status ${phase}" role="status">${lines.map((line, index) =>
          index ? (line ? html`<p>${line}</p>` : nothing) : html`<p class="headline" tabindex="-1">${line}</p>`,
        )}</div>
        ${phase === 'waiting' ? html`<p class="muted" role="timer">${t.timeLeft(clock(this.#timeLeft()))}</p>` : nothing}
        ${phase === 'failed'
          ? html`<button part="button" type="button" @click=${this.#startOver}>${t.tryAgain}</button>`
          : nothing}
      </div>
    `;
  }
}

function originOf(url: string | undefined): string {
  try {
    return new URL(url as string).origin;
  } catch {
    return location.origin;
  }
}
