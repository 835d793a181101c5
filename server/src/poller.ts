/**
 * Runs a piece of background work (status checks, webhook deliveries) every `tickMs`, draining
 * everything due each time, at most `maxPerSecond` items a second when a budget is set. The due
 * times live in the store, so work resumes after a restart.
 */
import type { FastifyBaseLogger } from 'fastify';

export interface PollerOptions {
  tickMs: number;
  /**
   * Items per second at most (a budget for work that calls out, such as provider status queries):
   * a backlog is worked off steadily instead of flat out, so it never starves the requests the
   * relay is answering. Unlimited when absent.
   */
  maxPerSecond?: number;
}

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Ends the pause between two batches early (on stop). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly name: string,
    /** Does one batch of at most `limit` due items; returns how many it handled (0 = nothing due). */
    private readonly work: (limit: number) => Promise<number>,
    private readonly options: PollerOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The most items one batch takes. */
  get batchSize(): number {
    return Math.max(1, Math.min(50, Math.floor(this.options.maxPerSecond ?? 50)));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.options.tickMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      while (!this.stopped) {
        const started = Date.now();
        const handled = await this.work(this.batchSize);
        if (handled === 0) break;
        const { maxPerSecond } = this.options;
        if (maxPerSecond !== undefined) await this.pause((handled * 1000) / maxPerSecond - (Date.now() - started));
      }
    } catch (error) {
      this.log.error({ err: error }, `${this.name} pass failed; retrying next tick`);
    }
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
