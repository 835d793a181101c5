/**
 * Runs a piece of background work (status checks, webhook deliveries) every `tickMs`, draining
 * everything due each time. The due times live in the store, so work resumes after a restart.
 */
import type { FastifyBaseLogger } from 'fastify';

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly name: string,
    /** Does one batch of due work; returns how many items it handled (0 = nothing due). */
    private readonly work: () => Promise<number>,
    private readonly tickMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.tickMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      while (!this.stopped && (await this.work()) > 0);
    } catch (error) {
      this.log.error({ err: error }, `${this.name} pass failed; retrying next tick`);
    }
  }
}
