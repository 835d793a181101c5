/**
 * Provider callbacks: which payment a callback is about, whether to believe it, and what it
 * changes. Unsigned callbacks (all of today's providers) become final only when the provider's own
 * status query agrees; duplicates, late and out-of-order ones are recorded and change nothing.
 */
import type { FastifyBaseLogger } from 'fastify';
import { isPaymentAmount, isPaymentId, isPlainText } from '../api/schemas.js';
import type { MerchantRegistry } from '../merchants.js';
import { paysAmount, type CallbackInput, type ParsedCallback, type Provider, type ProviderStatus } from '../providers/types.js';
import type { PaymentRecord, PaymentStore } from '../store/types.js';
import { GIVE_UP_AFTER_MS } from './schedule.js';
import { isTerminal } from './state-machine.js';
import type { PaymentUpdater } from './updater.js';

export type CallbackVerdict = 'applied' | 'duplicate' | 'unknown_payment' | 'rejected' | 'forbidden' | 'unconfirmed' | 'pending';

export interface CallbackHandlerDeps {
  store: PaymentStore;
  merchants: MerchantRegistry;
  updater: PaymentUpdater;
  /** Asks the provider about a payment now (the reconciler's check). */
  checkNow: (payment: PaymentRecord) => Promise<void>;
  log: FastifyBaseLogger;
  now: () => number;
}

export class CallbackHandler {
  constructor(private readonly deps: CallbackHandlerDeps) {}

  /**
   * Applies a provider callback. Never throws for the provider's sake: the verdict says what
   * happened. `log` is the callback request's, so its lines carry the request id.
   */
  async handle(instances: Provider[], input: CallbackInput, log: FastifyBaseLogger = this.deps.log): Promise<CallbackVerdict> {
    // Several merchants may use one provider with their own keys: the instance whose
    // verification (challenge, signature) accepts the callback reads it.
    let provider = instances[0]!;
    let parsed = provider.parseCallback(input);
    for (const candidate of instances.slice(1)) {
      if (parsed.kind === 'status') break;
      const attempt = candidate.parseCallback(input);
      if (attempt.kind === 'status') [provider, parsed] = [candidate, attempt];
    }
    const receivedAt = this.deps.now();
    const body = input.rawBody.slice(0, 16_384);
    const handled = (paymentId: string, verdict: string) => log.info({ paymentId, provider: provider.name, verdict }, 'provider callback handled');
    const record = async (providerRef: string | null, paymentId: string | null, verdict: string) => {
      await this.deps.store.recordCallback({ provider: provider.name, providerRef, paymentId, verdict, body, receivedAt });
      if (paymentId !== null) handled(paymentId, verdict);
    };

    if (parsed.kind === 'reject') {
      await record(null, null, `rejected: ${parsed.reason}`);
      log.warn({ provider: provider.name, reason: parsed.reason }, 'callback refused');
      return parsed.status === 401 || parsed.status === 403 ? 'forbidden' : 'rejected';
    }
    if (!isPlainText(parsed.providerRef) || (parsed.paymentId !== undefined && !isPlainText(parsed.paymentId))) {
      // No provider's reference holds a control character; neither database could look one up.
      await record(null, null, 'rejected: its reference is not plain text');
      log.warn({ provider: provider.name }, 'callback refused: its reference is not plain text');
      return 'rejected';
    }
    const found = await this.findCallbackPayment(provider, parsed);
    if (!found) {
      await record(parsed.providerRef, null, 'unknown_payment');
      log.warn({ provider: provider.name, providerRef: parsed.providerRef }, 'callback for a payment this relay never made');
      return 'unknown_payment';
    }
    const { payment, attached } = found;
    log.info({ paymentId: payment.id, provider: provider.name, providerRef: parsed.providerRef, claims: parsed.update.status, matchedBy: attached ? 'id or phone and amount' : 'reference' }, 'provider callback received');
    // The payment's own merchant's instance answers the status query (its keys made the push),
    // unless the merchant has moved to another provider since. A merchant missing from the
    // merchants file (a slip): no instance here can ask about its payment (another merchant's
    // account would answer), so nothing is settled on the callback's word; the payment stays open
    // until the merchant is back, when its own provider settles it and its webhook goes out.
    const merchant = this.deps.merchants.byId(payment.merchantId);
    if (!merchant) {
      await record(parsed.providerRef, payment.id, 'unconfirmed: merchant not configured');
      log.error({ paymentId: payment.id, merchantId: payment.merchantId }, 'callback for a payment of a merchant no longer configured: left open');
      return 'unconfirmed';
    }
    if (merchant.provider.name === payment.provider) provider = merchant.provider;
    if (isTerminal(payment.status)) {
      const update = parsed.update;
      // Daraja's status query gives no receipt: a query may have settled the payment before this
      // callback, which has it. Keep it (the amount must agree; the outcome is already final).
      // (Not one another payment has: the store refuses that.)
      if (payment.status === 'succeeded' && !payment.receipt && !attached && update.status === 'succeeded' && update.receipt && paysAmount(update, payment.amount)) {
        const added = await this.deps.store.updatePayment(payment.id, { receipt: update.receipt }, 'callback', this.deps.now());
        if (added.kind === 'updated') {
          await record(parsed.providerRef, payment.id, 'duplicate: already succeeded; receipt added');
          return 'duplicate';
        }
      }
      if (payment.status === 'failed' && update.status === 'succeeded' && !payment.reviewReason && (await this.paidAfterFailure(provider, payment, parsed, attached, log))) {
        await record(parsed.providerRef, payment.id, 'duplicate: already failed; the provider now reports it paid: held for review');
        return 'duplicate';
      }
      await record(parsed.providerRef, payment.id, `duplicate: already ${payment.status}`);
      return 'duplicate';
    }
    let update = parsed.update;
    if (update.status === 'succeeded' && !paysAmount(update, payment.amount)) {
      await record(parsed.providerRef, payment.id, `rejected: amount ${update.amount} is not ${payment.amount}`);
      log.warn({ paymentId: payment.id }, 'callback amount does not match the payment; asking the provider');
      await this.deps.checkNow(payment);
      return 'rejected';
    }
    if (update.status !== 'pending' && (!provider.signedCallbacks || attached)) {
      // Anyone can POST an unsigned body: only the provider's own status answer makes it final.
      const confirmed = await this.deps.updater.safeQuery(provider, payment.providerRef ?? parsed.providerRef, payment.id, 'callback confirmation', log);
      const sameRequest = !attached || confirmsIdentity(confirmed, payment, parsed.refIsTransaction === true);
      if (confirmed === undefined || confirmed.status !== update.status || !sameRequest) {
        await record(parsed.providerRef, payment.id, `unconfirmed: query says ${confirmed?.status ?? 'nothing'}${confirmed && !sameRequest ? ' about another request, or one it cannot tie to this payment' : ''}`);
        if (confirmed?.status === 'succeeded' && !sameRequest && !payment.reviewReason) {
          // Paid, says the provider, about a transaction nothing ties to this payment (its push's
          // answer was lost): neither paid nor failed on our word; the merchant looks.
          await this.deps.updater.holdForReview(
            payment,
            {
              reason: `A callback names this payment with M-Pesa transaction ${parsed.providerRef}, which ${provider.name} reports paid; nothing ties that transaction to this payment (no answer to the push has been stored: it was lost, or has not come yet). Check ${provider.name}'s dashboard.`,
              message: 'callback names a paid transaction nothing ties to this payment; the payment needs review',
              fields: { providerRef: parsed.providerRef },
            },
            'callback',
            { log },
          );
        }
        if (confirmed && confirmed.status !== 'pending' && sameRequest) await this.deps.updater.apply(payment, confirmed, 'query', attached ? { providerRef: parsed.providerRef } : {}, { log });
        return 'unconfirmed';
      }
      update = mergeStatus(confirmed, update);
    }
    if (attached && update.status === 'pending') {
      // Unconfirmable until the final answer: attach nothing on the word of an unsigned body.
      await record(parsed.providerRef, payment.id, 'pending');
      return 'pending';
    }
    if (attached) {
      // The push's answer was lost; this callback, confirmed above, tells us the provider's reference.
      await this.deps.store.updatePayment(payment.id, { providerRef: parsed.providerRef }, 'callback', this.deps.now());
    }
    // Recorded in the change's own transaction: one commit, and one wait for the disk, not two.
    const otherwise = update.status === 'pending' ? 'pending' : 'duplicate';
    const applied = await this.deps.updater.apply(payment, update, 'callback', {}, { callback: { provider: provider.name, providerRef: parsed.providerRef, paymentId: payment.id, body, receivedAt, otherwise }, log });
    handled(payment.id, applied ? 'applied' : otherwise);
    return applied ? 'applied' : otherwise;
  }

  /**
   * A failed payment that its provider now calls paid (IntaSend retries a failed prompt; Daraja's
   * final answer can come late). A final status never changes, so it stays failed and its webhook
   * stands; but the customer may have been charged, so when the provider's own status query agrees
   * the merchant view carries a review reason and the log an error. Returns whether it did.
   */
  private async paidAfterFailure(
    provider: Provider,
    payment: PaymentRecord,
    parsed: Extract<ParsedCallback, { kind: 'status' }>,
    attached: boolean,
    log: FastifyBaseLogger,
  ): Promise<boolean> {
    const claimed = parsed.update;
    if (claimed.status !== 'succeeded' || !paysAmount(claimed, payment.amount)) return false;
    const confirmed = await this.deps.updater.safeQuery(provider, payment.providerRef ?? parsed.providerRef, payment.id, 'callback confirmation', log);
    if (confirmed?.status !== 'succeeded' || !paysAmount(confirmed, payment.amount)) return false;
    if (attached && !confirmsIdentity(confirmed, payment, parsed.refIsTransaction === true)) return false;
    const receipt = confirmed.receipt ?? claimed.receipt;
    const reviewReason = `${provider.name} reported this payment failed, then paid${receipt ? ` (M-Pesa receipt ${receipt})` : ''}: the customer may have been charged for an order you were told failed. Check ${provider.name}'s dashboard, then fulfil the order or refund the customer.`;
    log.error({ paymentId: payment.id, provider: provider.name, ...(receipt ? { receipt } : {}) }, 'provider reports a failed payment paid; the payment needs review');
    await this.deps.store.updatePayment(payment.id, { reviewReason }, 'callback', this.deps.now());
    return true;
  }

  /**
   * The payment a callback is about: by the provider's reference; failing that (the push's answer
   * was lost, so no reference is stored), by our id echoed back, or by phone and amount among
   * payments of this provider still waiting for a reference. `attached` marks those last two.
   */
  private async findCallbackPayment(
    provider: Provider,
    parsed: Extract<ParsedCallback, { kind: 'status' }>,
  ): Promise<{ payment: PaymentRecord; attached: boolean } | undefined> {
    const byRef = await this.deps.store.findByProviderRef(provider.name, parsed.providerRef);
    if (byRef) return { payment: byRef, attached: false };
    if (parsed.paymentId && isPaymentId(parsed.paymentId)) {
      const byId = await this.deps.store.getPayment(parsed.paymentId);
      // Our id echoed back (UpesiPay's callbacks carry no id its status query takes). The status
      // query below uses the reference we stored, so a forged id only makes us ask about our own.
      if (byId && byId.provider === provider.name && byId.pushState === 'sent') return { payment: byId, attached: byId.providerRef === null };
    }
    // Only an amount a payment can hold: a provider's cents (or a sum left in floating point) would
    // match nothing, and PostgreSQL refuses it for the integer column.
    if (parsed.match && isPaymentAmount(parsed.match.amount)) {
      const candidates = await this.deps.store.findUnreferenced(provider.name, parsed.match.phone, parsed.match.amount, this.deps.now() - GIVE_UP_AFTER_MS);
      if (candidates.length === 1) return { payment: candidates[0]!, attached: true };
    }
    return undefined;
  }


}

/**
 * For a callback matched without a stored reference: the provider's own answer must name this
 * payment (its echoed id) or, failing that, its amount, so a callback about some other paid
 * request cannot be pinned on this one.
 */
export function confirmsIdentity(confirmed: ProviderStatus | undefined, payment: PaymentRecord, refIsTransaction = false): boolean {
  if (!confirmed) return false;
  if (confirmed.paymentId !== undefined) return confirmed.paymentId === payment.id;
  if (confirmed.status === 'succeeded' && confirmed.amount !== undefined) return paysAmount(confirmed, payment.amount);
  // An answer about a transaction (a receipt any collection on the account has) that names
  // neither: it ties nothing to this payment. (An answer about a request, Daraja's
  // CheckoutRequestID, is about one STK push of the merchant's.)
  return !(refIsTransaction && confirmed.status === 'succeeded');
}

/**
 * The query's verdict, with the callback's details (receipt) where the query has none. The query's
 * amount is kept: the updater holds a payment for review when the provider's own answer names
 * another amount, whether the callback or the reconciler brought that answer.
 */
function mergeStatus(confirmed: ProviderStatus, claimed: ProviderStatus): ProviderStatus {
  // A query that confirms the failure without saying why: the callback's reason stands (it can
  // choose the reason of a confirmed failure, never the outcome).
  if (confirmed.status === 'failed' && claimed.status === 'failed' && confirmed.code === 'provider_error') return claimed;
  if (confirmed.status === 'succeeded' && claimed.status === 'succeeded') {
    const receipt = confirmed.receipt ?? claimed.receipt;
    const { amount, customerFee } = confirmed.amount !== undefined ? confirmed : claimed;
    return { status: 'succeeded', ...(receipt ? { receipt } : {}), ...(amount !== undefined ? { amount } : {}), ...(customerFee !== undefined ? { customerFee } : {}) };
  }
  return confirmed;
}
