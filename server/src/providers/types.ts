/**
 * The provider seam: one interface, one file per provider. Adapters translate their provider's
 * wire format into these few shapes; everything else in the relay is provider-agnostic.
 */
import type { FailureCode } from '../api/schemas.js';

/** What a provider says about a payment, mapped to our vocabulary. */
export type ProviderStatus =
  | { status: 'pending' }
  | { status: 'succeeded'; receipt?: string; amount?: number }
  | { status: 'failed'; code: FailureCode; message: string };

export interface PushRequest {
  paymentId: string;
  amount: number;
  /** Canonical 2547XXXXXXXX. */
  phone: string;
  reference: string | null;
  description: string | null;
  /** Where the provider should POST its callback for this payment. */
  callbackUrl: string;
}

export type PushResult =
  /** Accepted: the prompt is (being) sent. Accepted is not paid. */
  | { kind: 'accepted'; providerRef: string }
  /** Refused outright: no prompt went out (bad number, limits, the provider's abuse block). */
  | { kind: 'refused'; code: FailureCode; message: string };

/**
 * Thrown when the outcome of a push is unknown (timeout after the request left, 5xx): the prompt
 * may have been delivered, so the relay must never send it again.
 */
export class IndeterminatePushError extends Error {
  constructor(message: string, readonly providerRef: string | null = null) {
    super(message);
    this.name = 'IndeterminatePushError';
  }
}

export interface CallbackInput {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  rawBody: string;
}

export type ParsedCallback =
  | { kind: 'status'; providerRef: string; update: ProviderStatus }
  | { kind: 'reject'; reason: string };

export interface Provider {
  readonly name: string;
  /** Whether a callback proves itself (a signature); if not, a final claim is re-checked by query. */
  readonly signedCallbacks: boolean;
  requestPayment(request: PushRequest): Promise<PushResult>;
  queryStatus(providerRef: string): Promise<ProviderStatus>;
  parseCallback(input: CallbackInput): ParsedCallback;
  /** Stops timers and connections the adapter holds. */
  close?(): void;
}
