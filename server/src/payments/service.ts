/**
 * Payments: create (idempotently), push to the provider, and apply what the provider says,
 * whether it comes by callback or by status query. Every change goes through the store's
 * transactional update (state machine checked there) and is announced on the bus only after it
 * is committed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { StatusBus } from '../bus/types.js';
import { crashPoint } from '../crash-points.js';
import type { RelayMetrics } from '../metrics.js';
import { RelayError } from '../errors.js';
import type { Merchant, MerchantRegistry } from '../merchants.js';
import type { CallbackInput, Provider, ProviderStatus } from '../providers/types.js';
import { ProviderHttpError } from '../providers/http.js';
import type { PaymentPatch, PaymentRecord, PaymentStore } from '../store/types.js';
import { checkAbuse, type AbuseLimits } from './abuse.js';
import { KeyedLock } from './keyed-lock.js';
import { GIVE_UP_AFTER_MS, nextCheckDelay, type CheckSchedule } from './schedule.js';
import { isTerminal } from './state-machine.js';
import { toView } from './view.js';

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

/** `pay_` + 24 base-62 characters (≈143 random bits): unguessable, so the id can be shared with the browser. */
export function newPaymentId(): string {
  let id = '';
  while (id.length < 24) {
    for (const byte of randomBytes(32)) {
      if (byte < 248 && id.length < 24) id += ID_ALPHABET[byte % 62];
    }
  }
  return `pay_${id}`;
}

/** A queued push not sent within this time was lost in a crash; the reconciler sends it. */
const LOST_PUSH_AFTER_MS = 10_000;
/** Waits before sending again a push the provider did not act on (connection refused, 429). */
const PUSH_RETRIES = [1_000, 3_000];
/** Past this age a lost push is not sent any more: the customer has left the checkout. */
const PUSH_TOO_LATE_MS = 2 * 60_000;

export type CallbackVerdict = 'applied' | 'duplicate' | 'unknown_payment' | 'rejected' | 'forbidden' | 'unconfirmed' | 'pending';

export class PaymentService {
  private readonly now: () => number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly phoneLocks = new KeyedLock();

  constructor(private readonly deps: PaymentServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Stores the payment and starts the push in the background; a replayed key returns the stored
   * one. New payments pass the abuse rules first, one at a time per phone, so two requests at
   * once cannot both pass the "one open prompt per phone" rule in this process.
   */
  async create(merchant: Merchant, input: CreatePaymentInput): Promise<{ payment: PaymentRecord; replayed: boolean }> {
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input.amount, input.phone, input.reference, input.description]))
      .digest('hex');
    const replay = async () => {
      if (input.idempotencyKey === null) return undefined;
      const existing = await this.deps.store.findByIdempotencyKey(merchant.id, input.idempotencyKey);
      if (existing && existing.requestHash !== requestHash) throw new RelayError('RELAY_ERR_IDEMPOTENCY_CONFLICT');
      if (!existing) return undefined;
      // The retry of a request whose relay died before sending the prompt sends it now (once:
      // claimPush lets one caller through).
      if (existing.pushState === 'queued') this.track(this.push(merchant, existing));
      return { payment: existing, replayed: true };
    };
    if (merchant.provider.abuseProtection === false) return (await replay()) ?? this.insert(merchant, input, requestHash);
    return this.phoneLocks.run(`${merchant.id}:${input.phone}`, async () => {
      // A retry of a request already taken is answered as before, whatever the rules say now.
      const earlier = await replay();
      if (earlier) return earlier;
      const now = this.now();
      const limits = this.deps.abuseLimits;
      const [recent, failures] = await Promise.all([
        this.deps.store.recentForPhone(merchant.id, input.phone, now - 24 * 60 * 60_000, 20),
        this.deps.store.failureTimes(merchant.id, now - limits.failureWindowMs),
      ]);
      checkAbuse({ amount: input.amount, now }, recent, failures, limits);
      return this.insert(merchant, input, requestHash);
    });
  }

  private async insert(merchant: Merchant, input: CreatePaymentInput, requestHash: string): Promise<{ payment: PaymentRecord; replayed: boolean }> {
    const result = await this.deps.store.createPayment(
      {
        id: newPaymentId(),
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
      this.now(),
      toView,
    );
    if (result.kind === 'existing') {
      if (result.payment.requestHash !== requestHash) throw new RelayError('RELAY_ERR_IDEMPOTENCY_CONFLICT');
      return { payment: result.payment, replayed: true };
    }
    this.deps.metrics.paymentsCreated.inc({ merchant: merchant.id, provider: merchant.provider.name });
    crashPoint('after_store');
    this.track(this.push(merchant, result.payment));
    return { payment: result.payment, replayed: false };
  }

  /** Waits for background pushes and checks (graceful shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Applies a provider callback. Never throws for the provider's sake: the verdict says what happened. */
  async handleCallback(instances: Provider[], input: CallbackInput): Promise<CallbackVerdict> {
    // Several merchants may use one provider with their own keys: the instance whose
    // verification (challenge, signature) accepts the callback reads it.
    let provider = instances[0]!;
    let parsed = provider.parseCallback(input);
    for (const candidate of instances.slice(1)) {
      if (parsed.kind === 'status') break;
      const attempt = candidate.parseCallback(input);
      if (attempt.kind === 'status') [provider, parsed] = [candidate, attempt];
    }
    const receivedAt = this.now();
    const record = (providerRef: string | null, paymentId: string | null, verdict: string) =>
      this.deps.store.recordCallback({ provider: provider.name, providerRef, paymentId, verdict, body: input.rawBody.slice(0, 16_384), receivedAt });

    if (parsed.kind === 'reject') {
      await record(null, null, `rejected: ${parsed.reason}`);
      this.deps.log.warn({ provider: provider.name, reason: parsed.reason }, 'callback refused');
      return parsed.status === 401 || parsed.status === 403 ? 'forbidden' : 'rejected';
    }
    const found = await this.findCallbackPayment(provider, parsed);
    if (!found) {
      await record(parsed.providerRef, null, 'unknown_payment');
      this.deps.log.warn({ provider: provider.name, providerRef: parsed.providerRef }, 'callback for a payment this relay never made');
      return 'unknown_payment';
    }
    const { payment, attached } = found;
    // The payment's own merchant's instance answers the status query (its keys made the push).
    provider = this.deps.merchants.byId(payment.merchantId)?.provider ?? provider;
    if (isTerminal(payment.status)) {
      const update = parsed.update;
      // Daraja's status query gives no receipt: a query may have settled the payment before this
      // callback, which has it. Keep it (the amount must agree; the outcome is already final).
      if (payment.status === 'succeeded' && !payment.receipt && !attached && update.status === 'succeeded' && update.receipt && (update.amount === undefined || update.amount === payment.amount)) {
        await this.deps.store.updatePayment(payment.id, { receipt: update.receipt }, 'callback', this.now(), toView);
        await record(parsed.providerRef, payment.id, 'duplicate: already succeeded; receipt added');
        return 'duplicate';
      }
      await record(parsed.providerRef, payment.id, `duplicate: already ${payment.status}`);
      return 'duplicate';
    }
    let update = parsed.update;
    if (update.status === 'succeeded' && update.amount !== undefined && update.amount !== payment.amount) {
      await record(parsed.providerRef, payment.id, `rejected: amount ${update.amount} is not ${payment.amount}`);
      this.deps.log.warn({ paymentId: payment.id }, 'callback amount does not match the payment; asking the provider');
      await this.checkNow(payment);
      return 'rejected';
    }
    if (update.status !== 'pending' && (!provider.signedCallbacks || attached)) {
      // Anyone can POST an unsigned body: only the provider's own status answer makes it final.
      const confirmed = await this.safeQuery(provider, payment.providerRef ?? parsed.providerRef);
      const sameRequest = !attached || confirmsIdentity(confirmed, payment);
      if (confirmed === undefined || confirmed.status !== update.status || !sameRequest) {
        await record(parsed.providerRef, payment.id, `unconfirmed: query says ${confirmed?.status ?? 'nothing'}`);
        if (confirmed && confirmed.status !== 'pending' && sameRequest) await this.apply(payment, confirmed, 'query', attached ? { providerRef: parsed.providerRef } : {});
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
      await this.deps.store.updatePayment(payment.id, { providerRef: parsed.providerRef }, 'callback', this.now(), toView);
    }
    const applied = await this.apply(payment, update, 'callback');
    await record(parsed.providerRef, payment.id, applied ? 'applied' : update.status === 'pending' ? 'pending' : 'duplicate');
    return applied ? 'applied' : update.status === 'pending' ? 'pending' : 'duplicate';
  }

  /**
   * The payment a callback is about: by the provider's reference; failing that (the push's answer
   * was lost, so no reference is stored), by our id echoed back, or by phone and amount among
   * payments of this provider still waiting for a reference. `attached` marks those last two.
   */
  private async findCallbackPayment(
    provider: Provider,
    parsed: Extract<ReturnType<Provider['parseCallback']>, { kind: 'status' }>,
  ): Promise<{ payment: PaymentRecord; attached: boolean } | undefined> {
    const byRef = await this.deps.store.findByProviderRef(provider.name, parsed.providerRef);
    if (byRef) return { payment: byRef, attached: false };
    if (parsed.paymentId) {
      const byId = await this.deps.store.getPayment(parsed.paymentId);
      // Our id echoed back (UpesiPay's callbacks carry no id its status query takes). The status
      // query below uses the reference we stored, so a forged id only makes us ask about our own.
      if (byId && byId.provider === provider.name && byId.pushState === 'sent') return { payment: byId, attached: byId.providerRef === null };
    }
    if (parsed.match) {
      const candidates = await this.deps.store.findUnreferenced(provider.name, parsed.match.phone, parsed.match.amount, this.now() - GIVE_UP_AFTER_MS);
      if (candidates.length === 1) return { payment: candidates[0]!, attached: true };
    }
    return undefined;
  }

  /** One reconciler pass: query the provider for every payment whose check is due. */
  async checkDue(limit = 50): Promise<number> {
    const now = this.now();
    const due = await this.deps.store.claimDueChecks(now, now + 60_000, limit);
    await Promise.all(due.map((payment) => this.checkNow(payment)));
    return due.length;
  }

  private async checkNow(payment: PaymentRecord): Promise<void> {
    const merchant = this.deps.merchants.byId(payment.merchantId);
    if (!merchant) {
      this.deps.log.error({ paymentId: payment.id, merchantId: payment.merchantId }, 'payment of a merchant no longer configured: needs review');
      return;
    }
    if (payment.pushState === 'queued') {
      await this.resumeLostPush(merchant, payment);
      return;
    }
    if (payment.providerRef !== null) {
      const status = await this.safeQuery(merchant.provider, payment.providerRef);
      if (status && status.status !== 'pending' && (await this.apply(payment, status, 'query'))) return;
    } else {
      // The push left but its answer was lost: only a callback can tell now.
      this.deps.log.warn({ paymentId: payment.id }, 'push outcome unknown and no provider reference to query; waiting for a callback');
    }
    const attempts = payment.checkAttempts + 1;
    const delay = nextCheckDelay(this.now() - payment.createdAt, this.deps.schedule);
    await this.deps.store.updatePayment(
      payment.id,
      { checkAttempts: attempts, nextCheckAt: delay === null ? null : this.now() + delay },
      'schedule',
      this.now(),
      toView,
    );
    if (delay === null) this.deps.log.error({ paymentId: payment.id }, 'no final answer from the provider after a day: needs review');
  }

  /** A payment stored but never pushed (the relay stopped in between). No request left, so no money can move. */
  private async resumeLostPush(merchant: Merchant, payment: PaymentRecord): Promise<void> {
    if (this.now() - payment.createdAt < PUSH_TOO_LATE_MS) {
      this.deps.log.warn({ paymentId: payment.id }, 'sending a push lost in a restart');
      await this.push(merchant, payment);
      return;
    }
    if (await this.deps.store.claimPush(payment.id, this.now(), this.now())) {
      await this.apply(
        payment,
        { status: 'failed', code: 'provider_error', message: 'The relay stopped before sending the prompt; none was sent.' },
        'recovery',
        { pushState: 'refused' },
      );
    }
  }

  private async push(merchant: Merchant, payment: PaymentRecord): Promise<void> {
    const log = this.deps.log.child({ paymentId: payment.id, provider: merchant.provider.name });
    // Committed before the request leaves: after a crash from here on, this payment is never pushed
    // again, and it is due for a status check. Whoever claims it first sends it; nobody else does.
    if (!(await this.deps.store.claimPush(payment.id, this.now(), this.now() + this.deps.schedule.promptWindowMs))) return;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await merchant.provider.requestPayment({
          paymentId: payment.id,
          amount: payment.amount,
          phone: payment.phone,
          reference: payment.reference,
          description: payment.description,
          callbackUrl: this.deps.callbackUrl(merchant.provider),
        });
        if (result.kind === 'refused') {
          log.info({ code: result.code }, 'provider refused the push');
          await this.apply(payment, { status: 'failed', code: result.code, message: result.message }, 'push', { pushState: 'refused' });
          return;
        }
        crashPoint('after_push_accepted');
        await this.apply(payment, { status: 'pending' }, 'push', { providerRef: result.providerRef });
        return;
      } catch (error) {
        const failure = error instanceof ProviderHttpError ? error : new ProviderHttpError('indeterminate', String(error));
        const definitelyNotActedOn = failure.kind === 'not_sent' || failure.kind === 'throttled';
        if (definitelyNotActedOn && attempt < PUSH_RETRIES.length) {
          // The provider did not act on it: sending again cannot make a second prompt.
          const wait = Math.min(Math.max(PUSH_RETRIES[attempt]!, failure.retryAfterMs ?? 0), 10_000);
          log.warn({ kind: failure.kind, waitMs: wait }, 'push not accepted; trying again');
          await new Promise((resolve) => setTimeout(resolve, wait * (0.8 + 0.4 * Math.random())));
          continue;
        }
        if (failure.kind === 'indeterminate') {
          // It may have reached the phone: never send again; a callback or a status query decides.
          log.error({ reason: failure.message }, 'push outcome unknown; waiting for a callback or a status query');
          if (failure.providerRef) await this.deps.store.updatePayment(payment.id, { providerRef: failure.providerRef }, 'push', this.now(), toView);
          return;
        }
        log.warn({ kind: failure.kind, reason: failure.message }, 'push failed; no prompt was sent');
        const outcome: ProviderStatus =
          failure.kind === 'not_sent'
            ? { status: 'failed', code: 'provider_error', message: `could not reach the provider: ${failure.message}` }
            : { status: 'failed', code: 'rejected', message: `the provider refused the request: ${failure.message}` };
        await this.apply(payment, outcome, 'push', { pushState: 'refused' });
        return;
      }
    }
  }

  /**
   * Applies a provider status (and extra fields). Returns whether a status change was committed.
   * `pending` from the provider means the prompt is out: the payment is awaiting the customer.
   */
  private async apply(payment: PaymentRecord, status: ProviderStatus, source: string, extra: PaymentPatch = {}): Promise<boolean> {
    const patch: PaymentPatch = { ...extra };
    if (status.status === 'succeeded' && status.amount !== undefined && status.amount !== payment.amount) {
      // The provider says paid, but not this amount: neither paid nor failed on our word.
      const reason = `The provider reports KES ${status.amount} paid for a payment of KES ${payment.amount}.`;
      this.deps.log.error({ paymentId: payment.id, source }, 'provider reports another amount; the payment needs review');
      await this.deps.store.updatePayment(payment.id, { ...extra, reviewReason: reason, nextCheckAt: null }, source, this.now(), toView);
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
    const result = await this.deps.store.updatePayment(payment.id, patch, source, this.now(), toView);
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

  private async safeQuery(provider: Provider, providerRef: string): Promise<ProviderStatus | undefined> {
    try {
      return await provider.queryStatus(providerRef);
    } catch (error) {
      this.deps.log.warn({ err: error, provider: provider.name }, 'status query failed; will ask again');
      return undefined;
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.deps.log.error({ err: error }, 'background payment work failed'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

/**
 * For a callback matched without a stored reference: the provider's own answer must name this
 * payment (its echoed id) or, failing that, its amount, so a callback about some other paid
 * request cannot be pinned on this one.
 */
function confirmsIdentity(confirmed: ProviderStatus | undefined, payment: PaymentRecord): boolean {
  if (!confirmed) return false;
  if (confirmed.paymentId !== undefined) return confirmed.paymentId === payment.id;
  if (confirmed.status === 'succeeded' && confirmed.amount !== undefined) return confirmed.amount === payment.amount;
  return true;
}

/** The query's verdict, with the callback's details (receipt) where the query has none. */
function mergeStatus(confirmed: ProviderStatus, claimed: ProviderStatus): ProviderStatus {
  // A query that confirms the failure without saying why: the callback's reason stands (it can
  // choose the reason of a confirmed failure, never the outcome).
  if (confirmed.status === 'failed' && claimed.status === 'failed' && confirmed.code === 'provider_error') return claimed;
  if (confirmed.status === 'succeeded' && claimed.status === 'succeeded') {
    const receipt = confirmed.receipt ?? claimed.receipt;
    return { status: 'succeeded', ...(receipt ? { receipt } : {}) };
  }
  return confirmed;
}
