/**
 * Applies what a provider says to a payment: through the store's transactional update (state
 * machine checked there), announced on the bus only after it is committed. Shared by the push,
 * the reconciler and the callback handler.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { StatusBus } from '../bus/types.js';
import { crashPoint } from '../crash-points.js';
import type { RelayMetrics } from '../metrics.js';
import type { Provider, ProviderStatus } from '../providers/types.js';
import type { PaymentPatch, PaymentRecord, PaymentStore } from '../store/types.js';
import { isTerminal } from './state-machine.js';

export interface PaymentUpdaterDeps {
  store: PaymentStore;
  bus: StatusBus;
  metrics: RelayMetrics;
  log: FastifyBaseLogger;
  now: () => number;
}

export class PaymentUpdater {
  constructor(private readonly deps: PaymentUpdaterDeps) {}

  /**
   * Applies a provider status (and extra fields). Returns whether a status change was committed.
   * `pending` from the provider means the prompt is out: the payment is awaiting the customer.
   */
  async apply(payment: PaymentRecord, status: ProviderStatus, source: string, extra: PaymentPatch = {}): Promise<boolean> {
    const patch: PaymentPatch = { ...extra };
    if (status.status === 'succeeded' && status.amount !== undefined && status.amount !== payment.amount) {
      // The provider says paid, but not this amount: neither paid nor failed on our word.
      const reason = `The provider reports KES ${status.amount} paid for a payment of KES ${payment.amount}.`;
      this.deps.log.error({ paymentId: payment.id, source }, 'provider reports another amount; the payment needs review');
      await this.deps.store.updatePayment(payment.id, { ...extra, reviewReason: reason, nextCheckAt: null }, source, this.deps.now());
      return false;
    }
    if (status.status === 'pending') patch.status = 'awaiting_customer';
    else if (status.status === 'succeeded') {
      patch.status = 'succeeded';
      patch.nextCheckAt = null;
      if (status.receipt) patch.receipt = status.receipt;
    } else {
      patch.status = 'failed';
      patch.nextCheckAt = null;
      patch.failureCode = status.code;
      patch.failureMessage = status.message;
    }
    const result = await this.deps.store.updatePayment(payment.id, patch, source, this.deps.now());
    if (result.kind === 'updated' && result.event) {
      if (source === 'callback' && isTerminal(result.payment.status)) crashPoint('after_callback_commit');
      await this.deps.bus.publish({ paymentId: payment.id, seq: result.event.seq });
      this.deps.log.info({ paymentId: payment.id, status: result.payment.status, source }, 'payment status changed');
      if (isTerminal(result.payment.status)) {
        this.deps.metrics.paymentsFinished.inc({ provider: payment.provider, status: result.payment.status, failure_code: result.payment.failureCode ?? '' });
      }
      return true;
    }
    return false;
  }

  async safeQuery(provider: Provider, providerRef: string): Promise<ProviderStatus | undefined> {
    const timer = this.deps.metrics.providerTimer(provider.name, 'query');
    try {
      const status = await provider.queryStatus(providerRef);
      timer.done('ok');
      return status;
    } catch (error) {
      timer.failed(error);
      this.deps.log.warn({ err: error, provider: provider.name }, 'status query failed; will ask again');
      return undefined;
    }
  }

}
