/**
 * The status bus across relay instances: PostgreSQL `LISTEN/NOTIFY`. A customer's SSE stream on
 * one instance hears the change committed by the instance that received the provider's callback.
 * Notices are hints (the store is the truth): after a lost connection the bus reconnects and
 * wakes every stream, which re-reads what it missed.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { StatusBus, StatusNotice } from './types.js';

export interface PgBusOptions {
  /** Channel name; tests give each run its own. */
  channel?: string;
  onError?: (error: Error) => void;
  /**
   * How often the LISTEN connection is asked to answer (default 15 s), and how long it may take.
   * A connection a firewall or NAT dropped without closing stays silent for good: no error, no
   * notices. One that does not answer is replaced, and every stream re-reads what it missed.
   */
  pingMs?: number;
}

/** How often a LISTEN connection must prove it is alive. */
const PING_MS = 15_000;

export class PgStatusBus implements StatusBus {
  private readonly emitter = new EventEmitter();
  private readonly channel: string;
  private listener: pg.Client | undefined;
  private readonly publisher: pg.Pool;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly pingTimer: NodeJS.Timeout;

  private constructor(
    private readonly url: string,
    private readonly options: PgBusOptions,
  ) {
    this.channel = options.channel ?? 'stk_pay_status';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.channel)) throw new Error(`not a channel name: ${this.channel}`);
    this.emitter.setMaxListeners(0);
    // A notice that cannot go within the ping interval is given up (the same silent connection
    // would hold the change's caller, a provider's callback, for as long as TCP takes to notice).
    this.publisher = new pg.Pool({ connectionString: url, max: 2, query_timeout: options.pingMs ?? PING_MS, keepAlive: true });
    this.publisher.on('error', () => undefined);
    const pingMs = options.pingMs ?? PING_MS;
    this.pingTimer = setInterval(() => void this.ping(pingMs), pingMs);
    this.pingTimer.unref();
  }

  static async connect(url: string, options: PgBusOptions = {}): Promise<PgStatusBus> {
    const bus = new PgStatusBus(url, options);
    await bus.listen();
    return bus;
  }

  async publish(notice: StatusNotice): Promise<void> {
    await this.publisher.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(notice)]);
  }

  subscribe(paymentId: string, listener: (notice: StatusNotice) => void): () => void {
    this.emitter.on(paymentId, listener);
    return () => this.emitter.off(paymentId, listener);
  }

  watchers(paymentId: string): number {
    return this.emitter.listenerCount(paymentId);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    this.emitter.removeAllListeners();
    await Promise.allSettled([this.listener?.end(), this.publisher.end()]);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel !== this.channel || !message.payload) return;
      try {
        const notice = JSON.parse(message.payload) as StatusNotice;
        this.emitter.emit(notice.paymentId, notice);
      } catch {
        // Not ours; ignore.
      }
    });
    // Only the connection in use: one given up on may still end or fail later.
    client.on('error', (error) => client === this.listener && this.lost(error));
    client.on('end', () => client === this.listener && this.lost(new Error('LISTEN connection ended')));
    await client.connect();
    await client.query(`listen ${this.channel}`);
    this.listener = client;
  }

  /** Asks the LISTEN connection to answer within `withinMs`; replaces it when it does not. */
  private async ping(withinMs: number): Promise<void> {
    const client = this.listener;
    if (!client || this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), withinMs)));
    const answered = client.query('select 1').then(
      () => 'answered' as const,
      () => 'failed' as const,
    );
    const outcome = await Promise.race([answered, silent]);
    clearTimeout(timer);
    if (outcome === 'answered' || client !== this.listener) return;
    this.lost(new Error(outcome === 'silent' ? `LISTEN connection silent for ${withinMs} ms` : 'LISTEN connection failed a ping'));
    // Let go of it without waiting (a dead peer never answers the goodbye), and of its socket.
    void client.end().catch(() => undefined);
    (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
  }

  private lost(error: Error): void {
    if (this.closed || this.reconnectTimer) return;
    this.options.onError?.(error);
    this.listener = undefined;
    const retry = (delayMs: number) => {
      this.reconnectTimer = setTimeout(() => {
        this.listen().then(
          () => {
            this.reconnectTimer = undefined;
            // Changes may have been missed while deaf: every stream re-reads from the store.
            for (const paymentId of this.emitter.eventNames()) this.emitter.emit(paymentId, { paymentId: String(paymentId), seq: -1 });
          },
          () => retry(Math.min(delayMs * 2, 10_000)),
        );
      }, delayMs);
      this.reconnectTimer.unref();
    };
    retry(250);
  }
}
