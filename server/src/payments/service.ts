/**
 * Payments: create (idempotently, within the abuse rules), push to the provider exactly once, and
 * ask the provider about those without a final answer. What the provider says is applied by
 * `PaymentUpdater`; callbacks are read by `CallbackHandler`.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { StatusBus } from '../bus/types.js';
import { crashPoint } from '../crash-points.js';
import type { RelayMetrics } from '../metrics.js';
import { RelayError } from '../errors.js';
import type { Merchant, MerchantRegistry } from '../merchants.js';
import { paysAmount, type CallbackInput, type ParsedCallback, type Provider, type ProviderStatus, type PushResult } from '../providers/types.js';
import { maskPhone } from '../phone.js';
import { ProviderHttpError } from '../providers/http.js';
import { randomBytesFromPool } from '../random.js';
import type { CallbackRecord, PaymentRecord, PaymentStore } from '../store/types.js';
import { checkAbuse, RECENT_FOR_PHONE, type AbuseLimits } from './abuse.js';
import { CallbackHandler, confirmsIdentity, type CallbackVerdict } from './callbacks.js';
import { nextCheckDelay, type CheckSchedule } from './schedule.js';
import { PaymentUpdater } from './updater.js';

export type { CallbackVerdict } from './callbacks.js';

export interface CreatePaymentInput {
  amount: number;
  /** Canonical 2547XXXXXXXX. */
  phone: string;
  reference: string | null;
  description: string | null;
  idempotencyKey: string | null;
}

export interface PaymentServiceDeps {
  store: PaymentStore;
  bus: StatusBus;
  merchants: MerchantRegistry;
  /** The URL a provider must call back for this relay (secret token included). */
  callbackUrl: (provider: Provider) => string;
  schedule: CheckSchedule;
  abuseLimits: AbuseLimits;
  metrics: RelayMetrics;
  log: FastifyBaseLogger;
  now?: () => number;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Base-36 milliseconds, 9 digits: lasts until the year 5188. */
const TIME_DIGITS = 9;

/**
 * `pay_` + the time in base 36 (9 characters) + 24 base-62 random characters (≈143 random bits):
 * unguessable, so the id can be shared with the browser. The time goes first so that payments
 * made close together sit close together in every index keyed by the id (the payments' own, and
 * their events'): with random ids each new payment wrote a page of its own in each of them, and a
 * page is what a commit writes out. Base 36 with lower-case letters sorts by time in SQLite's
 * byte order and in PostgreSQL's linguistic collations alike.
 */
export function newPaymentId(now: number = Date.now()): string {
  let id = Math.max(0, Math.floor(now)).toString(36).padStart(TIME_DIGITS, '0');
  const end = TIME_DIGITS + 24;
  while (id.length < end) {
    for (const byte of randomBytesFromPool(32)) {
      if (byte < 248 && id.length < end) id += ID_ALPHABET[byte % 62];
    }
  }
  return `pay_${id}`;
}

/** A queued push not sent within this time was lost in a crash; the reconciler sends it. */
export const LOST_PUSH_AFTER_MS = 10_000;
/** Waits before sending again a push the provider did not act on (connection refused, 429). */
const PUSH_RETRIES = [1_000, 3_000];
/** Past this age a lost push is not sent any more: the customer has left the checkout. */
const PUSH_TOO_LATE_MS = 2 * 60_000;

export class PaymentService {
  private readonly now: () => number;
  private readonly inFlight = new Set<Promise<unknown>>();

  private readonly updater: PaymentUpdater;
  private readonly callbacks: CallbackHandler;

  constructor(private readonly deps: PaymentServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.updater = new PaymentUpdater({
      store: deps.store,
      bus: deps.bus,
      metrics: deps.metrics,
      log: deps.log,
      now: this.now,
      // A merchant not configured (now) may have a webhook URL once it is back: queued, and kept
      // due by the deliverer until then.
      sendsWebhooks: (merchantId) => {
        const merchant = deps.merchants.byId(merchantId);
        return merchant === undefined || merchant.webhookUrl !== undefined;
      },
    });
    this.callbacks = new CallbackHandler({
      store: deps.store,
      merchants: deps.merchants,
      updater: this.updater,
      checkNow: (payment) => this.checkNow(payment),
      log: deps.log,
      now: this.now,
    });
  }

  /**
   * Stores the payment and starts the push in the background; a replayed key returns the stored
   * one. New payments pass the abuse rules first, one at a time per phone. `log` is the request's,
   * so the payment's first lines carry its request id.
   */
  async create(merchant: Merchant, input: CreatePaymentInput, log: FastifyBaseLogger = this.deps.log): Promise<{ payment: PaymentRecord; replayed: boolean }> {
    const requestHash = hashOf(input);
    const replay = () => this.replayOf(merchant, input, requestHash, log);
    if (merchant.provider.abuseProtection === false) return (await replay()) ?? this.insert(merchant, input, requestHash, log, this.now());
    // One request per phone at a time across every instance, so two at once cannot both pass
    // the "one open prompt per phone" rule.
    return this.deps.store.withLock(`phone:${merchant.id}:${input.phone}`, async () => {
      // A retry of a request already taken is answered as before, whatever the rules say now.
      const earlier = await replay();
      if (earlier) return earlier;
      const now = this.now();
      const limits = this.deps.abuseLimits;
      const [recent, failures] = await Promise.all([
        this.deps.store.recentForPhone(merchant.id, input.phone, now - RECENT_FOR_PHONE.windowMs, RECENT_FOR_PHONE.limit),
        this.deps.store.failureTimes(merchant.id, now - limits.failureWindowMs),
      ]);
      checkAbuse({ amount: input.amount, now }, recent, failures, limits);
      // After the phone's latest payment, even when the clock has been stepped back since: the
      // rules read a phone's payments newest first, and a success from "the future" would hide
      // every failure after it from the cooldown.
      const latest = recent[0]?.createdAt;
      return this.insert(merchant, input, requestHash, log, latest === undefined ? now : Math.max(now, latest + 1));
    });
  }

  /**
   * The payment an earlier request with this Idempotency-Key and these terms made, if any (a 409
   * when the key was used for other terms); never a new one. For a retry whose checkout token has
   * expired since the payment was made.
   */
  retried(merchant: Merchant, input: CreatePaymentInput, log: FastifyBaseLogger = this.deps.log): Promise<{ payment: PaymentRecord; replayed: boolean } | undefined> {
    return this.replayOf(merchant, input, hashOf(input), log);
  }

  private async replayOf(merchant: Merchant, input: CreatePaymentInput, requestHash: string, log: FastifyBaseLogger): Promise<{ payment: PaymentRecord; replayed: boolean } | undefined> {
    if (input.idempotencyKey === null) return undefined;
    const existing = await this.deps.store.findByIdempotencyKey(merchant.id, input.idempotencyKey);
    if (existing && existing.requestHash !== requestHash) throw new RelayError('RELAY_ERR_IDEMPOTENCY_CONFLICT');
    if (!existing) return undefined;
    log.info({ paymentId: existing.id, merchant: merchant.id }, 'payment replayed for a repeated Idempotency-Key');
    // The retry of a request whose relay died before sending the prompt sends it now (once:
    // claimPush lets one caller through).
    if (existing.pushState === 'queued') this.track(existing.id, this.push(merchant, existing, log));
    return { payment: existing, replayed: true };
  }

  private async insert(merchant: Merchant, input: CreatePaymentInput, requestHash: string, log: FastifyBaseLogger, createdAt: number): Promise<{ payment: PaymentRecord; replayed: boolean }> {
    const result = await this.deps.store.createPayment(
      {
        id: newPaymentId(createdAt),
        merchantId: merchant.id,
        amount: input.amount,
        phone: input.phone,
        reference: input.reference,
        description: input.description,
        provider: merchant.provider.name,
        idempotencyKey: input.idempotencyKey,
        requestHash,
        // The safety net: if this process dies before the push, the reconciler finds it then.
        nextCheckAt: this.now() + LOST_PUSH_AFTER_MS,
      },
      createdAt,
    );
    if (result.kind === 'existing') {
      if (result.payment.requestHash !== requestHash) throw new RelayError('RELAY_ERR_IDEMPOTENCY_CONFLICT');
      log.info({ paymentId: result.payment.id, merchant: merchant.id }, 'payment replayed for a repeated Idempotency-Key');
      return { payment: result.payment, replayed: true };
    }
    this.deps.metrics.paymentsCreated.inc({ merchant: merchant.id, provider: merchant.provider.name });
    const { payment } = result;
    log.info({ paymentId: payment.id, merchant: merchant.id, provider: payment.provider, amount: payment.amount, phone: maskPhone(payment.phone) }, 'payment created');
    crashPoint('after_store');
    this.track(payment.id, this.push(merchant, payment, log));
    return { payment: result.payment, replayed: false };
  }

  /** Waits for background pushes and checks (graceful shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Applies a provider callback. Never throws for the provider's sake: the verdict says what happened. */
  handleCallback(instances: Provider[], input: CallbackInput, log?: FastifyBaseLogger): Promise<CallbackVerdict> {
    return this.callbacks.handle(instances, input, log);
  }

  /** One reconciler pass: query the provider for every payment whose check is due. */
  async checkDue(limit = 50): Promise<number> {
    const now = this.now();
    const due = await this.deps.store.claimDueChecks(now, now + 60_000, limit);
    // One check failing (the store, an unexpected answer) leaves the others to run; its lease
    // makes it due again in a minute.
    await Promise.all(
      due.map((payment) => this.checkNow(payment).catch((error: unknown) => this.deps.log.error({ err: error, paymentId: payment.id }, 'status check failed; trying again when its lease ends'))),
    );
    return due.length;
  }

  private async checkNow(payment: PaymentRecord): Promise<void> {
    const merchant = this.deps.merchants.byId(payment.merchantId);
    if (!merchant) {
      this.deps.log.error({ paymentId: payment.id, merchantId: payment.merchantId }, 'payment of a merchant no longer configured: needs review');
      return;
    }
    if (merchant.provider.name !== payment.provider) {
      // The merchant moved to another provider while this payment was open: that one cannot
      // answer for it. Asked again each time its lease ends, in case the change is undone.
      this.deps.log.error({ paymentId: payment.id, provider: payment.provider, merchantProvider: merchant.provider.name }, 'payment sent through a provider its merchant no longer uses: needs review');
      if (!payment.reviewReason) {
        const reviewReason = `The payment was sent through ${payment.provider}, which this merchant no longer uses: the relay cannot ask about it. Check ${payment.provider}'s dashboard.`;
        await this.deps.store.updatePayment(payment.id, { reviewReason }, 'schedule', this.now());
      }
      return;
    }
    if (payment.pushState === 'queued') {
      await this.resumeLostPush(merchant, payment);
      return;
    }
    if (payment.providerRef !== null) {
      const status = await this.updater.safeQuery(merchant.provider, payment.providerRef, payment.id, 'reconciliation');
      if (status && status.status !== 'pending' && (await this.updater.apply(payment, await this.withCallbackReceipt(merchant.provider, payment, payment.providerRef, status), 'query'))) return;
    } else if (await this.settleByCallbackReference(merchant.provider, payment)) {
      return;
    } else {
      // The push left but its answer was lost: only a callback can tell now.
      this.deps.log.warn({ paymentId: payment.id }, 'push outcome unknown and no provider reference to query; waiting for a callback');
    }
    const attempts = payment.checkAttempts + 1;
    const delay = nextCheckDelay(this.now() - payment.createdAt, attempts, this.deps.schedule);
    await this.deps.store.updatePayment(
      payment.id,
      { checkAttempts: attempts, nextCheckAt: delay === null ? null : this.now() + delay },
      'schedule',
      this.now(),
    );
    if (delay === null) this.deps.log.error({ paymentId: payment.id }, 'no final answer from the provider after a day: needs review');
  }

  /**
   * A push whose answer was lost has no reference to ask about, but a callback may have named one
   * before the provider's status query could confirm it (Daraja's query trails its callback, and
   * Daraja sends the callback once). Asks about the references such callbacks named (the latest
   * few), and settles the payment on the provider's own final answer when it names this payment.
   */
  private async settleByCallbackReference(provider: Provider, payment: PaymentRecord): Promise<boolean> {
    const callbacks = await this.deps.store.callbacksFor(payment.id);
    const named = callbacks
      .filter((callback) => callback.provider === payment.provider && callback.providerRef !== null && callback.verdict.startsWith('unconfirmed'))
      .map((callback) => callback.providerRef!);
    const recorded = parseRecorded(provider, payment, callbacks);
    for (const reference of [...new Set(named.reverse())].slice(0, 3)) {
      const status = await this.updater.safeQuery(provider, reference, payment.id, 'reconciliation');
      // Named as an M-Pesa transaction (a receipt), not a request: see confirmsIdentity.
      const refIsTransaction = recorded.some((parsed) => parsed.providerRef === reference && parsed.refIsTransaction === true);
      if (!status || status.status === 'pending' || !confirmsIdentity(status, payment, refIsTransaction)) continue;
      return this.updater.apply(payment, await this.withCallbackReceipt(provider, payment, reference, status, recorded), 'query', { providerRef: reference });
    }
    return false;
  }

  /**
   * A status query that says paid but gives no receipt (Daraja's never does): the receipt of a
   * callback recorded for the same request that said paid, with the same amount, when one came
   * before the query could confirm it. One that says failed without a reason (UpesiPay's): the
   * reason a failed callback recorded for the payment gave. `recorded`: the payment's callbacks,
   * parsed, when the caller has them.
   */
  private async withCallbackReceipt(provider: Provider, payment: PaymentRecord, reference: string, status: ProviderStatus, recorded?: RecordedStatus[]): Promise<ProviderStatus> {
    const failedWithoutReason = status.status === 'failed' && status.code === 'provider_error';
    if (!failedWithoutReason && (status.status !== 'succeeded' || status.receipt)) return status;
    for (const parsed of recorded ?? parseRecorded(provider, payment, await this.deps.store.callbacksFor(payment.id))) {
      const claimed = parsed.update;
      // A failure the query confirms without saying why (UpesiPay's never says): the customer's
      // reason from a callback (cancelled, wrong PIN…) stands, as when the callback is confirmed
      // at once. A callback can choose the reason of a confirmed failure, never the outcome.
      if (failedWithoutReason && claimed.status === 'failed' && claimed.code !== 'provider_error') return claimed;
      if (parsed.providerRef !== reference) continue;
      if (status.status === 'succeeded' && claimed.status === 'succeeded' && claimed.receipt && paysAmount(claimed, payment.amount)) return { ...status, receipt: claimed.receipt };
    }
    return status;
  }

  /** A payment stored but never pushed (the relay stopped in between). No request left, so no money can move. */
  private async resumeLostPush(merchant: Merchant, payment: PaymentRecord): Promise<void> {
    if (this.now() - payment.createdAt < PUSH_TOO_LATE_MS) {
      this.deps.log.warn({ paymentId: payment.id }, 'sending a push lost in a restart');
      await this.push(merchant, payment, this.deps.log);
      return;
    }
    if (await this.deps.store.claimPush(payment.id, this.now(), this.now())) {
      await this.updater.apply(
        payment,
        { status: 'failed', code: 'provider_error', message: 'The relay stopped before sending the prompt; none was sent.' },
        'recovery',
        { pushState: 'refused' },
      );
    }
  }

  private async push(merchant: Merchant, payment: PaymentRecord, requestLog: FastifyBaseLogger): Promise<void> {
    const log = requestLog.child({ paymentId: payment.id, provider: merchant.provider.name });
    // Worked out before the claim: a push that cannot be built is never claimed (still queued, it
    // is sent later), never taken for one that may have left.
    const callbackUrl = this.deps.callbackUrl(merchant.provider);
    // Committed before the request leaves: after a crash from here on, this payment is never pushed
    // again, and it is due for a status check. Whoever claims it first sends it; nobody else does.
    const firstCheckAt = this.now() + this.deps.schedule.promptWindowMs;
    if (!(await this.deps.store.claimPush(payment.id, this.now(), firstCheckAt))) return;
    log.info('push claimed; sending it to the provider');
    crashPoint('after_push_claimed');
    for (let attempt = 0; ; attempt++) {
      const timer = this.deps.metrics.providerTimer(merchant.provider.name, 'push');
      let result: PushResult;
      try {
        result = await merchant.provider.requestPayment({
          paymentId: payment.id,
          amount: payment.amount,
          phone: payment.phone,
          reference: payment.reference,
          description: payment.description,
          callbackUrl,
        });
      } catch (error) {
        const latencyMs = timer.failed(error);
        const failure = error instanceof ProviderHttpError ? error : new ProviderHttpError('indeterminate', String(error));
        const definitelyNotActedOn = failure.kind === 'not_sent' || failure.kind === 'throttled';
        if (definitelyNotActedOn && attempt < PUSH_RETRIES.length) {
          // The provider did not act on it: sending again cannot make a second prompt.
          const wait = Math.min(Math.max(PUSH_RETRIES[attempt]!, failure.retryAfterMs ?? 0), 10_000);
          log.warn({ kind: failure.kind, latencyMs, waitMs: wait }, 'push not accepted; trying again');
          await new Promise((resolve) => setTimeout(resolve, wait * (0.8 + 0.4 * Math.random())));
          continue;
        }
        if (failure.kind === 'indeterminate') {
          // It may have reached the phone: never send again; a callback or a status query decides.
          log.error({ reason: failure.message, latencyMs }, 'push outcome unknown; waiting for a callback or a status query');
          if (failure.providerRef) await this.deps.store.updatePayment(payment.id, { providerRef: failure.providerRef }, 'push', this.now());
          return;
        }
        log.warn({ kind: failure.kind, reason: failure.message, latencyMs }, 'push failed; no prompt was sent');
        const outcome: ProviderStatus =
          failure.kind === 'not_sent'
            ? { status: 'failed', code: 'provider_error', message: `could not reach the provider: ${failure.message}` }
            : { status: 'failed', code: 'rejected', message: `the provider refused the request: ${failure.message}` };
        await this.updater.apply(payment, outcome, 'push', { pushState: 'refused' }, { log: requestLog });
        return;
      }
      // The provider's answer, outside the try: a failure to record it (the disk full, say) is ours,
      // not the provider's, and is not taken for a push that may or may not have arrived.
      const latencyMs = timer.done(result.kind === 'accepted' ? 'ok' : 'refused');
      if (result.kind === 'refused') {
        // The adapters' words, secrets already taken out; the operator needs them to mend a key.
        log[result.setup ? 'warn' : 'info']({ code: result.code, reason: withoutNumbers(result.message), latencyMs }, 'provider refused the push');
        await this.updater.apply(payment, { status: 'failed', code: result.code, message: result.message }, 'push', { pushState: 'refused' }, { log: requestLog });
        return;
      }
      log.info({ providerRef: result.providerRef, latencyMs }, 'provider accepted the push');
      crashPoint('after_push_accepted');
      // A callback that came before this answer (the customer paid while the provider was slow to
      // answer) may have held the payment for review, unchecked, as a push whose answer was lost:
      // the answer has come, so it is lifted and the reference is asked about, on the claim's
      // schedule (or at once if that time has passed). A final payment is left as it is.
      await this.updater.apply(payment, { status: 'pending' }, 'push', { providerRef: result.providerRef, reviewReason: null, nextCheckAt: firstCheckAt }, { log: requestLog });
      return;
    }
  }

  private track(paymentId: string, work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.deps.log.error({ err: error, paymentId }, 'background payment work failed'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

/** A provider's text with any long number (a phone it echoed) left out: no phone number in a log line. */
function withoutNumbers(text: string): string {
  return text.replace(/\d{9,}/g, '[number]');
}

/** What a repeated Idempotency-Key must repeat: the terms and the phone. */
function hashOf(input: CreatePaymentInput): string {
  return createHash('sha256').update(JSON.stringify([input.amount, input.phone, input.reference, input.description])).digest('hex');
}

type RecordedStatus = Extract<ParsedCallback, { kind: 'status' }>;

/** The callbacks recorded for a payment (the handler tied each to it), of its provider, read again, newest first. */
function parseRecorded(provider: Provider, payment: PaymentRecord, callbacks: CallbackRecord[]): RecordedStatus[] {
  const parsed: RecordedStatus[] = [];
  for (const callback of callbacks) {
    if (callback.provider !== payment.provider || callback.providerRef === null) continue;
    try {
      const status = provider.parseCallback({ headers: {}, body: JSON.parse(callback.body) as unknown, rawBody: callback.body });
      if (status.kind === 'status') parsed.push(status);
    } catch {
      // A body that is not JSON was never a status.
    }
  }
  return parsed.reverse();
}
