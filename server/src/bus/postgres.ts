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
}

export class PgStatusBus implements StatusBus {
  private readonly emitter = new EventEmitter();
  private readonly channel: string;
  private listener: pg.Client | undefined;
  private readonly publisher: pg.Pool;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly options: PgBusOptions,
  ) {
    this.channel = options.channel ?? 'stk_pay_status';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.channel)) throw new Error(`not a channel name: ${this.channel}`);
    this.emitter.setMaxListeners(0);
    this.publisher = new pg.Pool({ connectionString: url, max: 2 });
    this.publisher.on('error', () => undefined);
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

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.emitter.removeAllListeners();
    await Promise.allSettled([this.listener?.end(), this.publisher.end()]);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel !== this.channel || !message.payload) return;
      try {
        const notice = JSON.parse(message.payload) as StatusNotice;
        this.emitter.emit(notice.paymentId, notice);
      } catch {
        // Not ours; ignore.
      }
    });
    client.on('error', (error) => this.lost(error));
    client.on('end', () => this.lost(new Error('LISTEN connection ended')));
    await client.connect();
    await client.query(`listen ${this.channel}`);
    this.listener = client;
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
