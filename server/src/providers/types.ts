/**
 * The provider seam: one interface, one file per provider. Adapters translate their provider's
 * wire format into these few shapes; everything else in the relay is provider-agnostic.
 */
import type { FailureCode } from '../api/schemas.js';
import type { ProviderCallOutcome } from './http.js';

/** What a provider says about a payment, mapped to our vocabulary. */
export type ProviderStatus = (
  | { status: 'pending' }
  | {
      status: 'succeeded';
      receipt?: string;
      /** What the customer paid, as the provider reports it. */
      amount?: number;
      /**
       * Of `amount`, the provider's fee the customer may have paid on top (a customer-pays
       * tariff): the payment's own amount is then `amount - customerFee`.
       */
      customerFee?: number;
    }
  | { status: 'failed'; code: FailureCode; message: string }
) & {
  /** Our payment id as the provider echoes it (a status answer's `api_ref`), when it does. */
  paymentId?: string;
};

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
  | {
      kind: 'refused';
      code: FailureCode;
      message: string;
      /** The provider refused the relay's own credentials or set-up: every push fails alike until the operator mends it. */
      setup?: true;
    };

export type { ProviderHttpError } from './http.js';

/**
 * `requestPayment` throws `ProviderHttpError` (./http.ts) when it gets no clear answer; its `kind`
 * tells the relay whether the prompt may have gone out. With `providerRef` set the relay can
 * still ask the provider about it.
 */
export interface CallbackInput {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  rawBody: string;
}

export type ParsedCallback =
  | {
      kind: 'status';
      /** The provider's id of the request (the one `queryStatus` takes). */
      providerRef: string;
      update: ProviderStatus;
      /** Our payment id, where the provider echoes it (IntaSend `api_ref`, UpesiPay `ExternalReference`). */
      paymentId?: string;
      /**
       * `providerRef` names an M-Pesa transaction (its receipt: UpesiPay's paid callbacks), not the
       * request our push made: the status answer about it says that transaction was paid, not
       * which payment it paid.
       */
      refIsTransaction?: true;
      /**
       * Phone (canonical) and amount, where the callback carries them: the last resort to match a
       * callback for a push whose answer was lost (no provider reference stored).
       */
      match?: { phone: string; amount: number };
    }
  /** Not a callback of this provider, or it failed verification (challenge, signature). */
  | { kind: 'reject'; reason: string; status?: 400 | 401 | 403 };

/** Starts timing one request an adapter makes on its own behalf; the relay records it in its metrics. */
export type RequestTimer = (operation: 'token') => { done(outcome: ProviderCallOutcome): unknown; failed(error: unknown): unknown };

export interface Provider {
  readonly name: string;
  /** Whether a callback proves itself (a signature); if not, a final claim is re-checked by query. */
  readonly signedCallbacks: boolean;
  /**
   * Whether the relay's abuse rules (payments/abuse.ts) guard this provider. Default true; the
   * sandbox turns them off by default, as no aggregator's block stands behind it.
   */
  readonly abuseProtection?: boolean;
  requestPayment(request: PushRequest): Promise<PushResult>;
  queryStatus(providerRef: string): Promise<ProviderStatus>;
  parseCallback(input: CallbackInput): ParsedCallback;
  /**
   * How the provider wants a callback answered (some require a specific body). Default:
   * `{ received: true }` with 200.
   */
  callbackAnswer?(verdict: string): { status: number; body: unknown };
  /**
   * Proves the provider's settings by its cheapest authenticated call that sends no prompt.
   * Resolves with undefined when they work, or with a plain reason (never a secret) when they
   * cannot: credentials refused, nothing answering at the base URL. Trouble on the provider's side
   * (5xx, timeout, throttling) resolves undefined: it says nothing about the settings. Without it
   * (the sandbox) there is nothing to check.
   */
  checkSettings?(): Promise<string | undefined>;
  /**
   * Hands the adapter the relay's timer for the requests it makes on its own behalf (Daraja's
   * OAuth token); pushes and queries are timed by the relay around the calls above.
   */
  timeRequests?(timer: RequestTimer): void;
  /**
   * Hands the adapter the relay's secret callback path token (CALLBACK_TOKEN, or the one the relay
   * made up), to be kept out of any provider text the adapter keeps, as its own keys are.
   */
  hideCallbackToken?(token: string): void;
  /** Stops timers and connections the adapter holds. */
  close?(): void;
}

/**
 * Whether a provider's "paid" names this amount: the amount itself, or it with the provider's
 * fee on top where the customer pays the fee. True when the provider names no amount.
 */
export function paysAmount(status: { amount?: number; customerFee?: number }, amount: number): boolean {
  if (status.amount === undefined || status.amount === amount) return true;
  return status.customerFee !== undefined && Math.round((status.amount - status.customerFee) * 100) === amount * 100;
}
