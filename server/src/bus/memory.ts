/** The in-process status bus of the embedded default (one relay instance). */
import { EventEmitter } from 'node:events';
import type { StatusBus, StatusNotice } from './types.js';

export class MemoryStatusBus implements StatusBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open SSE stream; thousands of customers may watch at once.
    this.emitter.setMaxListeners(0);
  }

  async publish(notice: StatusNotice): Promise<void> {
    this.emitter.emit(notice.paymentId, notice);
  }

  subscribe(paymentId: string, listener: (notice: StatusNotice) => void): () => void {
    this.emitter.on(paymentId, listener);
    return () => this.emitter.off(paymentId, listener);
  }

  watchers(paymentId: string): number {
    return this.emitter.listenerCount(paymentId);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
