/**
 * Delivers merchant webhooks from the durable outbox: each terminal payment event is POSTed,
 * signed, to the merchant's `webhookUrl` until it answers 2xx, with exponential backoff and
 * jitter for up to 3 days. Due times live in the store, so delivery resumes after a restart, and
 * each attempt is claimed by one relay instance.
 */
import type { FastifyBaseLogger } from 'fastify';
import { crashPoint } from '../crash-points.js';
import type { RelayMetrics } from '../metrics.js';
import type { MerchantRegistry } from '../merchants.js';
import { toMerchantView } from '../payments/view.js';
import type { PaymentStore, WebhookDelivery } from '../store/types.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook, type WebhookEvent } from './signature.js';

export interface WebhookRetryPolicy {
  /** Wait after the first failure; doubles each time. */
  firstRetryMs: number;
  maxRetryMs: number;
  giveUpAfterMs: number;
  /** How long a merchant's endpoint has to answer one attempt. */
  attemptTimeoutMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = {
  firstRetryMs: 10_000,
  maxRetryMs: 60 * 60_000,
  giveUpAfterMs: 3 * 24 * 60 * 60_000,
  attemptTimeoutMs: 10_000,
};

/** The wait after `attempts` failed attempts, before jitter: doubling from the first, up to the cap. */
function baseRetryDelay(attempts: number, policy: WebhookRetryPolicy): number {
  return Math.min(policy.firstRetryMs * 2 ** Math.max(0, attempts - 1), policy.maxRetryMs);
}

export function webhookRetryDelay(attempts: number, policy: WebhookRetryPolicy, random: () => number = Math.random): number {
  return Math.round(baseRetryDelay(attempts, policy) * (0.8 + 0.4 * random()));
}

/**
 * The fewest attempts the backoff makes within `giveUpAfterMs`: every wait at its longest (+20 %).
 * A delivery is abandoned only once it has had as many, whatever the clock says: a clock stepped
 * forward (a host that booted days behind, then NTP) makes every delivery look 3 days old at once.
 */
export function fewestAttemptsBeforeGivingUp(policy: WebhookRetryPolicy): number {
  let attempts = 1;
  for (let waited = 0; ; attempts += 1) {
    waited += Math.max(1, baseRetryDelay(attempts, policy) * 1.2);
    if (waited >= policy.giveUpAfterMs) return attempts;
  }
}

/** Longer than one attempt can take (10 s timeout), short enough that a crash delays little. */
const WEBHOOK_LEASE_MS = 15_000;

/**
 * Attempts in flight at once: in all, and to one merchant. One merchant's endpoint that hangs
 * holds at most its own share (each attempt waits up to 10 s); the others' webhooks go meanwhile.
 */
const MAX_IN_FLIGHT = 64;
const MAX_IN_FLIGHT_PER_MERCHANT = 8;

export class WebhookDeliverer {
  private readonly inFlight = new Set<Promise<void>>();
  /** Each attempt's own abort, for shutdown: each is then recorded as failed and retried later. */
  private readonly aborts = new Set<AbortController>();
  private stopping = false;
  /** Called when an attempt ends and frees a slot, so a merchant's backlog goes on at once. */
  onRoom: (() => void) | undefined;
  private readonly inFlightByMerchant = new Map<string, number>();
  private readonly fewestAttempts: number;

  constructor(
    private readonly store: PaymentStore,
    private readonly merchants: MerchantRegistry,
    private readonly policy: WebhookRetryPolicy,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: RelayMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.fewestAttempts = fewestAttemptsBeforeGivingUp(policy);
  }

  /**
   * One batch: claims due deliveries, at most one merchant's share at a time, and starts their
   * attempts without waiting for them (a slow merchant's must not hold up the next batch).
   * Returns how many it started; 0 when nothing is due or no room is left.
   */
  async deliverDue(limit = MAX_IN_FLIGHT_PER_MERCHANT): Promise<number> {
    const room = Math.min(limit, MAX_IN_FLIGHT_PER_MERCHANT, MAX_IN_FLIGHT - this.inFlight.size);
    if (room <= 0) return 0;
    const busy = [...this.inFlightByMerchant].filter(([, count]) => count >= MAX_IN_FLIGHT_PER_MERCHANT).map(([merchantId]) => merchantId);
    const now = this.now();
    // A claim lapses after WEBHOOK_LEASE_MS: an instance that died mid-attempt delays it no longer.
    const due = await this.store.claimDueWebhooks(now, now + WEBHOOK_LEASE_MS, room, busy, (merchantId) => MAX_IN_FLIGHT_PER_MERCHANT - (this.inFlightByMerchant.get(merchantId) ?? 0));
    for (const delivery of due) this.start(delivery);
    return due.length;
  }

  abortInFlight(): void {
    this.stopping = true;
    for (const abort of this.aborts) abort.abort(new Error('the relay is shutting down'));
  }

  /** Resolves when every attempt started so far has ended (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private start(delivery: WebhookDelivery): void {
    const { merchantId } = delivery;
    this.inFlightByMerchant.set(merchantId, (this.inFlightByMerchant.get(merchantId) ?? 0) + 1);
    const attempt: Promise<void> = this.attempt(delivery)
      .catch((error: unknown) => this.log.error({ err: error, eventId: delivery.eventId, paymentId: delivery.paymentId }, 'merchant webhook attempt failed; retrying when its claim lapses'))
      .finally(() => {
        this.inFlight.delete(attempt);
        const left = (this.inFlightByMerchant.get(merchantId) ?? 1) - 1;
        if (left > 0) this.inFlightByMerchant.set(merchantId, left);
        else this.inFlightByMerchant.delete(merchantId);
        if (!this.stopping) this.onRoom?.();
      });
    this.inFlight.add(attempt);
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const log = this.log.child({ eventId: delivery.eventId, paymentId: delivery.paymentId });
    const merchant = this.merchants.byId(delivery.merchantId);
    const payment = await this.store.getPayment(delivery.paymentId);
    if (!merchant && payment) {
      // Gone from the merchants file, perhaps by a slip that the next restart mends: kept due on
      // the retry schedule, as a failed attempt would be, rather than dropped at once.
      await this.retryLater(delivery, delivery.attempts, 'merchant no longer configured', log);
      return;
    }
    if (!merchant?.webhookUrl || !payment) {
      const reason = payment ? 'merchant has no webhook URL' : 'payment not found';
      await this.store.recordWebhookFailure(delivery.eventId, delivery.attempts, null, reason);
      log.info({ reason }, 'merchant webhook not sent');
      return;
    }
    const event: WebhookEvent = {
      id: delivery.eventId,
      type: payment.status === 'succeeded' ? 'payment.succeeded' : 'payment.failed',
      createdAt: new Date(delivery.createdAt).toISOString(),
      data: toMerchantView(payment),
    };
    const body = JSON.stringify(event);
    const attempts = delivery.attempts + 1;
    crashPoint('before_webhook_post');
    let error: string;
    // Its own timer, held here: on Node 20 an AbortSignal.timeout() passed to AbortSignal.any()
    // is weakly held, and once collected it never fired (an endpoint that hung held its attempt
    // for undici's 300 s); and each any() on a long-lived signal kept a WeakRef for good.
    const abort = new AbortController();
    const { attemptTimeoutMs } = this.policy;
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${attemptTimeoutMs / 1000} s`)), attemptTimeoutMs);
    this.aborts.add(abort);
    if (this.stopping) abort.abort(new Error('the relay is shutting down'));
    try {
      const target = webhookTarget(merchant.webhookUrl);
      const response = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'stk-pay-webhooks/1',
          ...(target.authorization ? { authorization: target.authorization } : {}),
          [SIGNATURE_HEADER]: signWebhook(body, merchant.secretKeys, Math.floor(this.now() / 1000)),
          [EVENT_ID_HEADER]: delivery.eventId,
        },
        body,
        redirect: 'manual',
        signal: abort.signal,
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) {
        await this.store.markWebhookDelivered(delivery.eventId, this.now());
        this.metrics.webhookAttempts.inc({ result: 'delivered' });
        log.info({ attempts }, 'merchant webhook delivered');
        return;
      }
      error = `merchant answered ${response.status}`;
    } catch (cause) {
      error = `could not deliver: ${failureText(cause)}`;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
    await this.retryLater(delivery, attempts, error, log);
  }

  /** Records a failed attempt: due again after the backoff, or abandoned after 3 days. */
  private async retryLater(delivery: WebhookDelivery, attempts: number, error: string, log: FastifyBaseLogger): Promise<void> {
    const giveUp = this.now() - delivery.createdAt >= this.policy.giveUpAfterMs && attempts >= this.fewestAttempts;
    const next = giveUp ? null : this.now() + webhookRetryDelay(Math.max(1, attempts), this.policy);
    await this.store.recordWebhookFailure(delivery.eventId, attempts, next, error);
    this.metrics.webhookAttempts.inc({ result: giveUp ? 'abandoned' : 'failed' });
    if (giveUp) log.error({ attempts, error }, 'merchant webhook abandoned after 3 days');
    else log.warn({ attempts, error, retryInMs: next! - this.now() }, 'merchant webhook failed; will retry');
  }
}

/**
 * Where a webhook goes: a URL's user and password (`https://user:pass@shop.example/hooks`) become
 * HTTP Basic authorization, as merchants who protect their endpoint that way expect; fetch refuses
 * a URL that holds them, and its error quoted the URL, password and all, into the logs.
 */
export function webhookTarget(webhookUrl: string): { url: string; authorization?: string } {
  const url = new URL(webhookUrl);
  if (!url.username && !url.password) return { url: webhookUrl };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** Why a delivery failed, with the network's own code (refused, DNS, TLS) where fetch hides it. */
function failureText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
}
