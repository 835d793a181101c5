import { LitElement, html, nothing, type PropertyDeclarations } from 'lit';
import { normalizePhone } from '@stk-pay/server/phone';
import type { PaymentView } from '@stk-pay/server/schemas';
import { emit } from './events.js';
import { RelayClient, isTerminal, type CreateOutcome, type NewPayment } from './relay-client.js';
import { en } from './strings.js';
import styles from './stk-pay.styles.js';

/** Where this script was loaded from: the relay, unless the page says otherwise. Read while the
 * classic script runs, because `document.currentScript` is null afterwards. */
const scriptOrigin = originOf(document.currentScript);

type Phase = 'form' | 'submitting' | 'waiting' | 'succeeded' | 'failed';

/**
 * @summary M-Pesa checkout: takes a phone number, sends the STK push through the merchant's relay and shows the result.
 *
 * @event stk-pay-status - The payment changed state; `detail` is the payment.
 * @event stk-pay-success - The provider confirmed the payment; `detail` is the payment, with `receipt` when known.
 * @event stk-pay-failure - The provider confirmed the payment failed; `detail.failure` says why.
 * @event stk-pay-error - The payment could not be started (relay unreachable or refused); `detail` is `{ code, message, status? }`.
 *
 * @csspart base - The card around everything.
 * @csspart amount - The amount, reference and description.
 * @csspart field - The phone number label, input and inline explanation.
 * @csspart button - The Pay and Try again buttons.
 * @csspart status - The progress, success, failure or error message.
 *
 * @cssproperty --stk-pay-accent - Button and success colour (default a dark, accessible M-Pesa green).
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
export class StkPay extends LitElement {
  static override styles = styles;

  static override properties: PropertyDeclarations = {
    amount: { type: Number },
    reference: {},
    description: {},
    publishableKey: { attribute: 'publishable-key' },
    relay: {},
    phase: { state: true },
    phone: { state: true },
    phoneError: { state: true },
    requestError: { state: true },
    payment: { state: true },
  };

  private get phoneInput(): HTMLInputElement | null {
    return this.renderRoot.querySelector('input');
  }

  private get actionButton(): HTMLButtonElement | null {
    return this.renderRoot.querySelector('button');
  }

  private declare phase: Phase;
  /** As typed, so Try again shows the customer's own digits. */
  private declare phone: string;
  private declare phoneError: string;
  private declare requestError: string;
  private declare payment: PaymentView | undefined;
  private stopWatching: (() => void) | undefined;
  /** Reused while the customer retries the same request after no answer; see `idempotencyKeyFor`. */
  private attempt: { key: string; body: string } | undefined;

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

  constructor() {
    super();
    this.phase = 'form';
    this.phone = '';
    this.phoneError = '';
    this.requestError = '';
    this.payment = undefined;
    this.amount = Number.NaN;
    this.reference = '';
    this.description = '';
    this.publishableKey = '';
    this.relay = scriptOrigin;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved in the DOM while a payment is open: follow it again.
    if (this.payment !== undefined && !isTerminal(this.payment)) this.follow(this.payment.id);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private handlePhoneInput(event: InputEvent): void {
    this.phone = (event.target as HTMLInputElement).value;
    if (this.phoneError !== '' && normalizePhone(this.phone).ok) this.phoneError = '';
  }

  private handlePhoneChange(): void {
    if (this.phone.trim() !== '') this.phoneError = this.explainPhone();
  }

  private async handleSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.phase !== 'form') return;
    const phone = normalizePhone(this.phone);
    if (!phone.ok) {
      this.phoneError = this.explainPhone();
      this.phoneInput?.focus();
      return;
    }
    if (!this.hasValidAmount()) return;
    this.phoneError = '';
    this.requestError = '';
    this.phase = 'submitting';

    const body: NewPayment = { amount: this.amount, phone: phone.msisdn };
    if (this.reference) body.reference = this.reference;
    if (this.description) body.description = this.description;
    const outcome = await this.client().createPayment(body, this.idempotencyKeyFor(body));
    if (outcome.ok) {
      this.attempt = undefined;
      this.handlePayment(outcome.payment);
      if (!isTerminal(outcome.payment) && this.isConnected) this.follow(outcome.payment.id);
    } else {
      this.handleRefusal(outcome);
    }
  }

  private handlePayment(payment: PaymentView): void {
    if (this.payment !== undefined && (payment.id !== this.payment.id || payment.seq <= this.payment.seq)) return;
    this.payment = payment;
    this.phase = payment.status === 'succeeded' ? 'succeeded' : payment.status === 'failed' ? 'failed' : 'waiting';
    emit(this, 'stk-pay-status', payment);
    if (payment.status === 'succeeded') emit(this, 'stk-pay-success', payment);
    if (payment.status === 'failed') emit(this, 'stk-pay-failure', payment);
  }

  private handleRefusal(outcome: Extract<CreateOutcome, { ok: false }>): void {
    const { status, error } = outcome;
    // No answer or a server fault: the payment may exist, so a retry must reuse the key.
    if (status !== undefined && status < 500) this.attempt = undefined;
    const phoneIssue = error.details?.find((detail) => detail.field === 'phone');
    if (phoneIssue !== undefined) this.phoneError = phoneIssue.message;
    else this.requestError = this.explainRefusal(outcome);
    this.phase = 'form';
    emit(this, 'stk-pay-error', status === undefined ? error : { ...error, status });
  }

  private async handleTryAgain(): Promise<void> {
    this.payment = undefined;
    this.phase = 'form';
    await this.updateComplete;
    this.actionButton?.focus();
  }

  /** Sets focus on the phone number field. */
  override focus(options?: FocusOptions): void {
    this.phoneInput?.focus(options);
  }

  private client(): RelayClient {
    return new RelayClient(this.relay || scriptOrigin, this.publishableKey);
  }

  private follow(id: string): void {
    this.stopWatching?.();
    this.stopWatching = this.client().watch(id, (payment) => this.handlePayment(payment));
  }

  /** One key per attempt; the same key only when the same request is sent again. */
  private idempotencyKeyFor(body: NewPayment): string {
    const serialized = JSON.stringify(body);
    if (this.attempt?.body !== serialized) this.attempt = { key: randomKey(), body: serialized };
    return this.attempt.key;
  }

  private hasValidAmount(): boolean {
    return Number.isInteger(this.amount) && this.amount > 0;
  }

  private explainPhone(): string {
    const result = normalizePhone(this.phone);
    if (result.ok) return '';
    const messages = { empty: en.phoneEmpty, characters: en.phoneCharacters, length: en.phoneLength, prefix: en.phonePrefix };
    return messages[result.reason];
  }

  private explainRefusal({ status, error, retryAfterSeconds }: Extract<CreateOutcome, { ok: false }>): string {
    if (status === undefined || status >= 500) return en.unreachable;
    if (status === 401 || status === 403) return en.misconfigured;
    if (status === 409) return en.idempotencyConflict;
    if (status === 429) return en.rateLimited(retryAfterSeconds);
    return en.refused(error.details?.map((detail) => detail.message).join('; ') || error.message);
  }

  private formattedAmount(): string {
    return en.amount(new Intl.NumberFormat('en-KE').format(this.amount));
  }

  private renderForm() {
    const busy = this.phase === 'submitting';
    const amountOk = this.hasValidAmount();
    const problem = amountOk ? this.requestError : en.badAmount;
    return html`
      <form novalidate @submit=${this.handleSubmit}>
        <div part="field" class="field">
          <label for="phone">${en.phoneLabel}</label>
          <input
            id="phone"
            name="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            placeholder=${en.phonePlaceholder}
            .value=${this.phone}
            ?readonly=${busy}
            aria-invalid=${this.phoneError ? 'true' : 'false'}
            aria-describedby="phone-error"
            @input=${this.handlePhoneInput}
            @change=${this.handlePhoneChange}
          />
          <p id="phone-error" class="error" ?hidden=${!this.phoneError}>${this.phoneError}</p>
        </div>
        <p part="status" class="error" role="alert" ?hidden=${!problem}>${problem}</p>
        <button part="button" type="submit" ?disabled=${busy || !amountOk}>
          ${busy ? en.sending : en.pay(this.formattedAmount())}
        </button>
      </form>
    `;
  }

  private renderProgress(payment: PaymentView) {
    return html`
      <div part="status" class="status status--waiting" role="status">
        <div class="spinner" aria-hidden="true"></div>
        <p class="headline">${en.checkPhone}</p>
        <p>${payment.status === 'pending' ? en.statusPending(payment.phone) : en.statusAwaiting(payment.phone)}</p>
      </div>
    `;
  }

  private renderOutcome(payment: PaymentView) {
    if (payment.status === 'succeeded') {
      return html`
        <div part="status" class="status status--succeeded" role="status">
          <p class="headline">${en.paid}</p>
          <p>${this.formattedAmount()}</p>
          ${payment.receipt ? html`<p class="receipt">${en.receipt(payment.receipt)}</p>` : nothing}
        </div>
      `;
    }
    const code = payment.failure?.code;
    return html`
      <div part="status" class="status status--failed" role="alert">
        <p class="headline">${en.notPaid}</p>
        <p class="reason">${code ? en.failure[code] : (payment.failure?.message ?? '')}</p>
      </div>
      <button part="button" type="button" @click=${this.handleTryAgain}>${en.tryAgain}</button>
    `;
  }

  override render() {
    const payment = this.payment;
    return html`
      <div part="base" class="base">
        <div part="amount" class="summary">
          <span class="amount">${this.hasValidAmount() ? this.formattedAmount() : nothing}</span>
          ${this.reference ? html`<span class="reference">${en.reference} ${this.reference}</span>` : nothing}
          ${this.description ? html`<span class="description">${this.description}</span>` : nothing}
        </div>
        ${payment === undefined || this.phase === 'form' || this.phase === 'submitting'
          ? this.renderForm()
          : this.phase === 'waiting'
            ? this.renderProgress(payment)
            : this.renderOutcome(payment)}
      </div>
    `;
  }
}

function originOf(script: HTMLOrSVGScriptElement | null): string {
  if (script instanceof HTMLScriptElement && script.src) return new URL(script.src).origin;
  return location.origin;
}

/** 128 random bits as hex; getRandomValues works on plain-http pages too, unlike randomUUID. */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `stkpay_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}
