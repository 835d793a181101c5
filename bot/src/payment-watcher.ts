/**
 * Follows payments in the background and edits each one's Telegram message at every change the
 * customer can see, until the payment is paid or failed. What is being followed (chat, message,
 * payment, language, last state shown) is written to disk before the first edit and removed only
 * at the end, so a restarted bot picks up every payment still open (`resumeAll`). One stream per
 * payment; a broken stream is reopened with `Last-Event-ID`, a relay that is down is waited for.
 */
import { setMaxListeners } from 'node:events';
import { GrammyError, type Api, type StorageAdapter } from 'grammy';
import type { PaymentView } from '@stk-pay/server/schemas';
import { STRINGS, type Lang, type Terms } from './i18n.js';
import type { Logger } from './logger.js';
import { isTerminal, PaymentGoneError, type RelayAnswer, type RelayClient } from './relay-client.js';
import { paymentView, resultUnknownView, viewKey, type MessageView } from './views.js';

export interface OpenPayment {
  paymentId: string;
  chatId: number;
  messageId: number;
  lang: Lang;
  terms: Terms;
  /** The `seq` of the last state shown, and which state that was (`viewKey`). */
  seq: number;
  shown: string;
  /** When following began (ms); past `giveUpAfterMs` the customer is told to check M-Pesa. */
  since: number;
}

/** Whether a record read from disk is an open payment as this bot writes them. */
export function isOpenPayment(value: unknown): value is OpenPayment {
  const record = value as Partial<OpenPayment> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.paymentId === 'string' &&
    typeof record.chatId === 'number' &&
    typeof record.messageId === 'number' &&
    typeof record.seq === 'number' &&
    typeof record.since === 'number' &&
    typeof record.terms?.amount === 'number'
  );
}

export interface WatcherOptions {
  api: Api;
  relay: RelayClient;
  store: StorageAdapter<OpenPayment>;
  log: Logger;
  /** A stream silent for this long is reopened (the relay sends a heartbeat every 15 s). */
  idleMs?: number;
  /** Waits between reconnections, the last repeated. */
  retryDelaysMs?: number[];
  /** The relay settles a payment within a day; past this the bot stops following it. */
  giveUpAfterMs?: number;
  /** A Pay without an answer is asked again for this long (`recoverPayment`), with these waits, the last repeated. */
  recoverForMs?: number;
  recoverDelaysMs?: number[];
}

type Target = { chatId: number; messageId: number; lang: Lang };

type Outcome = 'open' | 'done';
/** grammY types its signal with the abort-controller package's AbortSignal; Node's own is the same at run time. */
type GrammySignal = Parameters<Api['editMessageText']>[4];

export class PaymentWatcher {
  private readonly tasks = new Map<string, Promise<void>>();
  private readonly claimed = new Set<string>();
  private readonly stopping = new AbortController();
  private readonly idleMs: number;
  private readonly retryDelaysMs: number[];
  private readonly giveUpAfterMs: number;
  private readonly recoverForMs: number;
  private readonly recoverDelaysMs: number[];

  constructor(private readonly options: WatcherOptions) {
    this.idleMs = options.idleMs ?? 45_000;
    this.retryDelaysMs = options.retryDelaysMs ?? [500, 1_000, 2_000, 5_000, 10_000, 30_000];
    this.giveUpAfterMs = options.giveUpAfterMs ?? 26 * 60 * 60_000;
    // Every payment followed waits on this one stop signal (its stream, its sleeps, its edits):
    // more than ten at once is the normal case, not a leak.
    setMaxListeners(0, this.stopping.signal);
    this.recoverForMs = options.recoverForMs ?? 2 * 60_000;
    this.recoverDelaysMs = options.recoverDelaysMs ?? [1_000, 2_000, 4_000, 8_000, 15_000];
  }

  /** How many payments are being followed now. */
  get size(): number {
    return this.claimed.size;
  }

  /**
   * Shows `payment` on the message now and follows it in the background (not awaited). False when
   * this payment is already followed (a double tap, a re-delivered update): nothing is done then.
   * While the bot stops (a Pay whose relay answered late), the payment is only written to disk,
   * whatever its state: the next start shows it and follows it to its end.
   */
  async follow(target: Target, payment: PaymentView): Promise<boolean> {
    if (this.claimed.has(payment.id)) return false;
    const open: OpenPayment = {
      ...target,
      paymentId: payment.id,
      terms: { amount: payment.amount, reference: payment.reference, description: payment.description },
      seq: 0,
      shown: '',
      since: Date.now(),
    };
    if (this.stopping.signal.aborted) {
      await this.options.store.write(payment.id, open);
      return true;
    }
    this.claimed.add(payment.id);
    try {
      if (!isTerminal(payment)) await this.options.store.write(payment.id, open);
      if ((await this.show(open, payment)) === 'done') {
        await this.finish(open);
        this.claimed.delete(payment.id);
        return true;
      }
    } catch (error) {
      // Kept on disk: the background task shows the state again when it can.
      this.options.log.warn('could not show a payment yet', { paymentId: payment.id, error });
    }
    this.spawn(open);
    return true;
  }

  /**
   * A Pay whose request may have reached the relay but got no answer (a timeout, a 5xx): `create`
   * sends the same request again, with the same idempotency key (so never a second prompt), in the
   * background for up to `recoverForMs` with growing waits, and the payment it returns is followed
   * on the message. A refusal ends it; so does a stop (the customer's button still works after it).
   */
  recoverPayment(target: Target, create: (signal: AbortSignal) => Promise<RelayAnswer<PaymentView>>): void {
    const key = `recover:${target.chatId}:${target.messageId}`;
    if (this.tasks.has(key)) return;
    const task = this.recover(target, create)
      .catch((error: unknown) => this.options.log.error('asking the relay again for a payment failed', { ...target, error }))
      .finally(() => this.tasks.delete(key));
    this.tasks.set(key, task);
  }

  private async recover(target: Target, create: (signal: AbortSignal) => Promise<RelayAnswer<PaymentView>>): Promise<void> {
    const signal = this.stopping.signal;
    const until = Date.now() + this.recoverForMs;
    for (let attempt = 0; Date.now() < until; attempt += 1) {
      await sleep(this.recoverDelaysMs[Math.min(attempt, this.recoverDelaysMs.length - 1)] ?? 1_000, signal);
      if (signal.aborted) return;
      const answer = await create(signal);
      if (answer.ok) {
        await this.follow(target, answer.value);
        return;
      }
      if (signal.aborted) return;
      if (answer.problem.kind === 'refused') {
        this.options.log.warn('the relay refused a payment asked again', { ...target, code: answer.problem.code });
        return;
      }
    }
    this.options.log.warn('no answer from the relay for a Pay, asked again for two minutes; the button still works', target);
  }

  /** Follows every payment left open by an earlier run. Returns how many. */
  async resumeAll(): Promise<number> {
    let count = 0;
    for await (const open of this.options.store.readAllValues?.() ?? []) {
      if (this.claimed.has(open.paymentId)) continue;
      this.claimed.add(open.paymentId);
      this.spawn(open);
      count += 1;
    }
    return count;
  }

  /** Stops following (the records stay on disk for the next start). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.tasks.values()]);
  }

  private spawn(open: OpenPayment): void {
    const task = this.run(open)
      .catch((error: unknown) => this.options.log.error('following a payment failed', { paymentId: open.paymentId, error }))
      .finally(() => {
        this.tasks.delete(open.paymentId);
        this.claimed.delete(open.paymentId);
      });
    this.tasks.set(open.paymentId, task);
  }

  private async run(open: OpenPayment): Promise<void> {
    const signal = this.stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const events = this.options.relay.paymentEvents(open.paymentId, {
          signal,
          idleMs: this.idleMs,
          ...(open.seq > 0 ? { afterSeq: open.seq } : {}),
        });
        for await (const payment of events) {
          if (payment.seq <= open.seq && open.shown !== '') {
            // Shown already; if it was the end, nothing is left to follow.
            if (isTerminal(payment)) return this.finish(open);
            continue;
          }
          if ((await this.showWhenAllowed(open, payment, signal)) === 'done') return this.finish(open);
          // Only a state shown resets the waits: a stream that opens but whose edit fails backs off.
          failures = 0;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof PaymentGoneError) {
          this.options.log.warn('the relay does not know this payment any more; no longer following it', { paymentId: open.paymentId });
          return this.finish(open);
        }
        this.options.log.warn('payment stream broke; reconnecting', { paymentId: open.paymentId, error });
      }
      if (signal.aborted) return;
      if (Date.now() - open.since > this.giveUpAfterMs) {
        await this.edit(open, resultUnknownView(open.terms, STRINGS[open.lang])).catch(() => 'done');
        return this.finish(open);
      }
      const delay = this.retryDelaysMs[Math.min(failures, this.retryDelaysMs.length - 1)] ?? 1_000;
      failures += 1;
      await sleep(delay, signal);
    }
  }

  /**
   * `show`, waiting out Telegram's flood wait (429 `retry_after`, those longer than auto-retry
   * takes) and trying the same edit again, with the stream kept open; a stop ends the wait.
   */
  private async showWhenAllowed(open: OpenPayment, payment: PaymentView, signal: AbortSignal): Promise<Outcome> {
    for (;;) {
      try {
        return await this.show(open, payment);
      } catch (error) {
        const retryAfter = error instanceof GrammyError && error.error_code === 429 ? error.parameters.retry_after : undefined;
        if (retryAfter === undefined || signal.aborted) throw error;
        this.options.log.warn('Telegram asks the bot to wait before editing again', { paymentId: open.paymentId, retryAfter });
        await sleep(retryAfter * 1000, signal);
        if (signal.aborted) throw error;
      }
    }
  }

  /** Edits the message to this state if the customer has not seen it yet; `done` at the end. */
  private async show(open: OpenPayment, payment: PaymentView): Promise<Outcome> {
    const key = viewKey(payment);
    const terminal = isTerminal(payment);
    if (key !== open.shown) {
      const outcome = await this.edit(open, paymentView(payment, STRINGS[open.lang]));
      if (outcome === 'done') return 'done';
    }
    open.seq = payment.seq;
    open.shown = key;
    if (terminal) return 'done';
    await this.options.store.write(open.paymentId, open);
    return 'open';
  }

  /**
   * Shows the view on the payment's message. A message the customer deleted (or one Telegram no
   * longer lets the bot edit) is replaced by a new one, followed from then on; `done` only when
   * the customer blocked the bot (403): nothing can reach them.
   */
  private async edit(open: OpenPayment, view: MessageView): Promise<Outcome> {
    // The stop signal ends the call and auto-retry's waits: Telegram out of reach cannot hold up a shutdown.
    const signal = this.stopping.signal as GrammySignal;
    const extra = view.keyboard ? { reply_markup: view.keyboard } : {};
    try {
      try {
        await this.options.api.editMessageText(open.chatId, open.messageId, view.text, extra, signal);
      } catch (error) {
        if (!(error instanceof GrammyError && /message to edit not found|message can't be edited/i.test(error.description))) throw error;
        const sent = await this.options.api.sendMessage(open.chatId, view.text, extra, signal);
        this.options.log.info('the payment message was gone; its state went in a new message', { paymentId: open.paymentId, messageId: sent.message_id });
        open.messageId = sent.message_id;
        await this.options.store.write(open.paymentId, open);
      }
      return 'open';
    } catch (error) {
      if (error instanceof GrammyError && /message is not modified/i.test(error.description)) return 'open';
      if (error instanceof GrammyError && error.error_code === 403) {
        this.options.log.warn('the customer cannot be reached any more (the bot is blocked)', { paymentId: open.paymentId, error: error.description });
        return 'done';
      }
      throw error;
    }
  }

  private async finish(open: OpenPayment): Promise<void> {
    await this.options.store.delete(open.paymentId);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
