/**
 * Applies what a provider says to a payment: through the store's transactional update (state
 * machine checked there), announced on the bus only after it is committed. Shared by the push,
 * the reconciler and the callback handler.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { StatusBus } from '../bus/types.js';
import { crashPoint } from '../crash-points.js';
import type { RelayMetrics } from '../metrics.js';
import { paysAmount, type Provider, type ProviderStatus } from '../providers/types.js';
import { webhookEventId } from '../store/rows.js';
import type { CallbackToRecord, PaymentPatch, PaymentRecord, PaymentStore, UpdateOptions } from '../store/types.js';
import { isTerminal } from './state-machine.js';

export interface PaymentUpdaterDeps {
  store: PaymentStore;
  bus: StatusBus;
  metrics: RelayMetrics;
  log: FastifyBaseLogger;
  now: () => number;
  /** Whether the merchant has a webhook URL: a terminal change queues a webhook only then. */
  sendsWebhooks: (merchantId: string) => boolean;
}

/** Why a provider's "paid" cannot settle a payment: for the payment's record, and the log. */
export interface Review {
  reason: string;
  message: string;
  fields?: Record<string, string>;
}

export class PaymentUpdater {
  constructor(private readonly deps: PaymentUpdaterDeps) {}

  /**
   * Applies a provider status (and extra fields). Returns whether a status change was committed.
   * `pending` from the provider means the prompt is out: the payment is awaiting the customer.
   * `callback`, when a callback brought it, is recorded in the same transaction. `log` is the
   * request's that brought the change, when one did, so its lines carry the request id.
   */
  async apply(
    payment: PaymentRecord,
    status: ProviderStatus,
    source: string,
    extra: PaymentPatch = {},
    { callback, log = this.deps.log }: { callback?: CallbackToRecord; log?: FastifyBaseLogger } = {},
  ): Promise<boolean> {
    const options = { webhook: this.deps.sendsWebhooks(payment.merchantId), ...(callback ? { callback } : {}) };
    const patch: PaymentPatch = { ...extra };
    // The provider says paid, but in a way that makes it neither paid nor failed on our word.
    const holdForReview = (review: Review) => this.holdForReview(payment, review, source, { extra, options, log });
    if (status.status === 'succeeded' && !paysAmount(status, payment.amount)) {
      return holdForReview({ reason: `The provider reports KES ${status.amount} paid for a payment of KES ${payment.amount}.`, message: 'provider reports another amount; the payment needs review' });
    }
    if (status.status === 'pending') patch.status = 'awaiting_customer';
    else if (status.status === 'succeeded') {
      patch.status = 'succeeded';
      patch.nextCheckAt = null;
      // A review is about an open payment; a final answer ends it (the provider has spoken).
      patch.reviewReason = null;
      if (status.receipt) patch.receipt = status.receipt;
    } else {
      patch.status = 'failed';
      patch.nextCheckAt = null;
      patch.reviewReason = null;
      patch.failureCode = status.code;
      patch.failureMessage = status.message;
    }
    const result = await this.deps.store.updatePayment(payment.id, patch, source, this.deps.now(), options);
    if (result.kind === 'receipt_held') {
      return holdForReview({
        reason: `The provider reports this payment paid with M-Pesa receipt ${patch.receipt}, which payment ${result.holder} already has.`,
        message: 'provider reports a receipt another payment holds; the payment needs review',
        fields: { otherPayment: result.holder },
      });
    }
    if (result.kind === 'updated' && result.event) {
      if (source === 'callback' && isTerminal(result.payment.status)) crashPoint('after_callback_commit');
      // A hint for the streams (the store is the truth, and they re-read it): a notice that cannot
      // go is logged, never the change's failure, which is committed.
      await this.deps.bus.publish({ paymentId: payment.id, seq: result.event.seq }).catch((error: unknown) => log.warn({ err: error, paymentId: payment.id }, 'status notice not sent: streams on other instances see the change when their clients next ask'));
      const { status: to, failureCode } = result.payment;
      log.info({ paymentId: payment.id, from: result.previousStatus, to, source, ...(failureCode ? { failureCode } : {}) }, 'payment status changed');
      if (isTerminal(to)) {
        this.deps.metrics.paymentsFinished.inc({ provider: payment.provider, status: to, failure_code: failureCode ?? '' });
        // The store queued it in the same transaction as the change.
        if (options.webhook) log.info({ paymentId: payment.id, eventId: webhookEventId(result.payment) }, 'merchant webhook queued');
      }
      return true;
    }
    return false;
  }

  /**
   * Neither paid nor failed on our word: the payment stays open for the customer ("still
   * confirming"), asked about no more, and the merchant view carries the reason.
   */
  async holdForReview(
    payment: PaymentRecord,
    review: Review,
    source: string,
    { extra = {}, options = {}, log = this.deps.log }: { extra?: PaymentPatch; options?: UpdateOptions; log?: FastifyBaseLogger } = {},
  ): Promise<false> {
    log.error({ paymentId: payment.id, source, ...review.fields }, review.message);
    await this.deps.store.updatePayment(payment.id, { ...extra, reviewReason: review.reason, nextCheckAt: null }, source, this.deps.now(), options);
    return false;
  }

  /**
   * Asks the provider about a payment's request (`purpose`: a reconciliation check, or confirming
   * a callback); undefined when it gave no answer.
   */
  async safeQuery(provider: Provider, providerRef: string, paymentId: string, purpose: 'reconciliation' | 'callback confirmation', log = this.deps.log): Promise<ProviderStatus | undefined> {
    const timer = this.deps.metrics.providerTimer(provider.name, 'query');
    const about = { paymentId, provider: provider.name, purpose };
    try {
      const status = await provider.queryStatus(providerRef);
      log.info({ ...about, answer: status.status, latencyMs: timer.done('ok') }, 'status query answered');
      return status;
    } catch (error) {
      log.warn({ ...about, err: error, latencyMs: timer.failed(error) }, 'status query failed; will ask again');
      return undefined;
    }
  }

}
