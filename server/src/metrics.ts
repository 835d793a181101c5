/**
 * Prometheus metrics (`GET /metrics`), with prom-client. One registry per relay, so several relays
 * in one process (tests) do not share counters. Labels carry provider names, statuses and codes,
 * never a phone number, a payment id or a merchant secret.
 *
 * Counters, the histogram and the stream gauge are this instance's; the store gauges (payments,
 * backlog, outbox) are counted from the shared store at each scrape, so every instance reports the
 * same figure: aggregate them with `max`, not `sum`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PaymentStatus } from './api/schemas.js';
import { failureOutcome, type ProviderCallOutcome } from './providers/http.js';
import type { PaymentStore } from './store/types.js';
import { withDeadline } from './deadline.js';

const STATUSES: PaymentStatus[] = ['pending', 'awaiting_customer', 'succeeded', 'failed'];

/**
 * Work due longer ago than this is overdue: the reconciler and the webhook deliverer look every
 * second, so it means they are stalled or behind.
 */
export const OVERDUE_AFTER_MS = 30_000;

/** How long a scrape waits for the store's counts before it reports the store down (`stk_pay_store_up` 0). */
const STORE_TIMEOUT_MS = 3_000;

export type ProviderOperation = 'push' | 'query' | 'token';

export interface ProviderTimer {
  /** Records the request as answered with `outcome`; returns how long it took (ms). */
  done(outcome: ProviderCallOutcome): number;
  /** Records the request as failed with `error`; returns how long it took (ms). */
  failed(error: unknown): number;
}

export interface RelayMetricsOptions {
  /** Where the store gauges are counted at each scrape. */
  store: Pick<PaymentStore, 'countsForMetrics'>;
  /** The configured providers, reported at 0 before they have payments. */
  providers: string[];
  now?: () => number;
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly paymentsCreated = new Counter({
    name: 'stk_pay_payments_created_total',
    help: 'Payments accepted by POST /v1/payments (not counting idempotent replays).',
    labelNames: ['merchant', 'provider'] as const,
    registers: [this.registry],
  });
  readonly paymentsFinished = new Counter({
    name: 'stk_pay_payments_finished_total',
    help: 'Payments that reached a final state, by outcome and failure code.',
    labelNames: ['provider', 'status', 'failure_code'] as const,
    registers: [this.registry],
  });
  readonly callbacks = new Counter({
    name: 'stk_pay_provider_callbacks_total',
    help: 'Provider callbacks received, by what the relay made of them.',
    labelNames: ['provider', 'verdict'] as const,
    registers: [this.registry],
  });
  readonly webhookAttempts = new Counter({
    name: 'stk_pay_merchant_webhook_attempts_total',
    help: 'Merchant webhook delivery attempts, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly openStreams = new Gauge({
    name: 'stk_pay_sse_streams_open',
    help: 'Server-sent event streams open on this instance.',
    registers: [this.registry],
  });
  readonly providerRequestSeconds = new Histogram({
    name: 'stk_pay_provider_request_duration_seconds',
    help: "Requests to the payment providers by operation (push, including a Daraja token when one is needed; status query; Daraja's OAuth token) and outcome.",
    labelNames: ['provider', 'operation', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
    registers: [this.registry],
  });
  readonly payments = new Gauge({
    name: 'stk_pay_payments',
    help: 'Payments in the store, by provider and status (the whole store, counted at scrape).',
    labelNames: ['provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly reconciliationBacklog = new Gauge({
    name: 'stk_pay_reconciliation_backlog',
    help: 'Open payments waiting for a status check with the provider.',
    registers: [this.registry],
  });
  readonly reconciliationOverdue = new Gauge({
    name: 'stk_pay_reconciliation_overdue',
    help: `Status checks due more than ${OVERDUE_AFTER_MS / 1000} s ago and not yet made (the reconciler is stalled or behind).`,
    registers: [this.registry],
  });
  readonly webhookOutboxDepth = new Gauge({
    name: 'stk_pay_webhook_outbox_depth',
    help: 'Merchant webhooks not yet delivered that will be attempted (first tries and retries).',
    registers: [this.registry],
  });
  readonly webhookOutboxOverdue = new Gauge({
    name: 'stk_pay_webhook_outbox_overdue',
    help: `Merchant webhook attempts due more than ${OVERDUE_AFTER_MS / 1000} s ago and not yet made.`,
    registers: [this.registry],
  });
  readonly storeUp = new Gauge({
    name: 'stk_pay_store_up',
    help: 'Whether the store answered the counts of this scrape (1) or not (0: the store gauges keep their last values).',
    registers: [this.registry],
  });

  private readonly now: () => number;

  constructor(private readonly options: RelayMetricsOptions) {
    this.now = options.now ?? Date.now;
    collectDefaultMetrics({ register: this.registry, prefix: 'stk_pay_' });
  }

  /** Starts timing one request to `provider`; the first `done` or `failed` records it, later calls only read it. */
  providerTimer(provider: string, operation: ProviderOperation): ProviderTimer {
    const started = performance.now();
    let tookMs: number | undefined;
    const record = (outcome: ProviderCallOutcome) => {
      if (tookMs !== undefined) return tookMs;
      const seconds = (performance.now() - started) / 1000;
      this.providerRequestSeconds.observe({ provider, operation, outcome }, seconds);
      tookMs = Math.round(seconds * 1000);
      return tookMs;
    };
    return { done: record, failed: (error) => record(failureOutcome(error)) };
  }

  /** The Prometheus text, with the store gauges counted now. */
  async render(): Promise<string> {
    let counts;
    try {
      // A store that hangs must not take the process figures and counters down with it.
      counts = await withDeadline(this.options.store.countsForMetrics(this.now() - OVERDUE_AFTER_MS), STORE_TIMEOUT_MS, 'the store did not answer in time');
    } catch {
      // The store gauges keep their last values; /readyz says what is wrong.
      this.storeUp.set(0);
      return this.registry.metrics();
    }
    // Set together, with no await in between, so a concurrent scrape never sees half.
    this.storeUp.set(1);
    this.payments.reset();
    for (const provider of new Set([...this.options.providers, ...counts.payments.map((row) => row.provider)])) {
      for (const status of STATUSES) this.payments.set({ provider, status }, 0);
    }
    for (const row of counts.payments) this.payments.set({ provider: row.provider, status: row.status }, row.count);
    this.reconciliationBacklog.set(counts.checks.waiting);
    this.reconciliationOverdue.set(counts.checks.overdue);
    this.webhookOutboxDepth.set(counts.webhooks.waiting);
    this.webhookOutboxOverdue.set(counts.webhooks.overdue);
    return this.registry.metrics();
  }
}
