/**
 * Runs a piece of background work (status checks, webhook deliveries) every `tickMs`, draining
 * everything due each time, at most `maxPerSecond` items a second when a budget is set, in small
 * batches spread evenly over the second. The due times live in the store, so work resumes after a
 * restart.
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

/** How many batches a budgeted poller spreads a second's work over. */
const BATCHES_PER_SECOND = 10;

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Ends the pause between two batches early (on stop). */
  private wake: (() => void) | undefined;
  /** Passes failed in a row: an outage (the database out of reach) is logged when it starts and ends. */
  private failedPasses = 0;
  /** A poke came during a pass: the next one starts at once. */
  private again = false;

  constructor(
    private readonly name: string,
    /** Does one batch of at most `limit` due items; returns how many it handled (0 = nothing due). */
    private readonly work: (limit: number) => Promise<number>,
    private readonly options: PollerOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * The most items one batch takes. With a budget, a tenth of a second's worth: the work is spread
   * over the second in small batches rather than spent in one burst at the start of it. A burst of
   * 20 status queries at once (the default budget) held the callbacks arriving meanwhile up by
   * 20–50 ms, once a second (bench/sse-scale.ts with 12,500 open payments).
   */
  get batchSize(): number {
    const { maxPerSecond } = this.options;
    return maxPerSecond === undefined ? 50 : Math.max(1, Math.min(50, Math.ceil(maxPerSecond / BATCHES_PER_SECOND)));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass now (or right after the one running): work has just become possible. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
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
      this.again = false;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.again ? 0 : this.options.tickMs);
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
      if (this.failedPasses > 0) this.log.info({ failedPasses: this.failedPasses }, `${this.name} passes work again`);
      this.failedPasses = 0;
    } catch (error) {
      // Once, not at every tick (several a second) for as long as the outage lasts.
      if (this.failedPasses === 0) this.log.error({ err: error }, `${this.name} pass failed; retrying every tick, logged again once it works`);
      this.failedPasses += 1;
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
