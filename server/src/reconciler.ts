/**
 * Asks providers about payments without a final answer, on the schedule in `payments/schedule.ts`.
 * Due times live in the store, so checks resume after a restart and each is claimed by one
 * instance only.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { PaymentService } from './payments/service.js';

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly payments: PaymentService,
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
      // Drain everything due, a batch at a time.
      while (!this.stopped && (await this.payments.checkDue()) > 0);
    } catch (error) {
      this.log.error({ err: error }, 'reconciler pass failed; retrying next tick');
    }
  }
}
