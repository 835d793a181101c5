/**
 * Prometheus metrics (`GET /metrics`), with prom-client. One registry per relay, so several relays
 * in one process (tests) do not share counters. Labels carry provider names, statuses and codes,
 * never a phone number, a payment id or a merchant secret.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stk_pay_' });
  }
}
