/**
 * The status bus: tells every listener in every relay instance that a payment has a new event.
 * It carries only the payment id and sequence number; listeners read the event from the store,
 * which is the single source of truth (so a missed notice is repaired by the next read).
 */
export interface StatusNotice {
  paymentId: string;
  seq: number;
}

export interface StatusBus {
  publish(notice: StatusNotice): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(paymentId: string, listener: (notice: StatusNotice) => void): () => void;
  /** How many listeners this instance has for the payment (its open streams). */
  watchers(paymentId: string): number;
  close(): Promise<void>;
}
