/**
 * The relay's public API as the widget uses it: create a payment, then follow it over SSE, falling
 * back to polling where EventSource is missing or keeps failing. Types only from the server, so
 * zod stays out of the bundle.
 */
import type { ErrorBody, PaymentView } from '@stk-pay/server/schemas';

export interface NewPayment {
  amount: number;
  phone: string;
  reference?: string;
  description?: string;
}

/** `status` is undefined when no HTTP answer came back at all (network failure, relay down). */
export type CreateOutcome =
  | { ok: true; payment: PaymentView }
  | { ok: false; status: number | undefined; error: ErrorBody['error']; retryAfterSeconds: number | undefined };

export const POLL_INTERVAL_MS = 2500;
/** EventSource errors in a row (without a status in between) before switching to polling. */
const MAX_STREAM_ERRORS = 3;

export function isTerminal(payment: PaymentView): boolean {
  return payment.status === 'succeeded' || payment.status === 'failed';
}

export class RelayClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly publishableKey: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async createPayment(body: NewPayment, idempotencyKey: string): Promise<CreateOutcome> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/payments`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Publishable-Key': this.publishableKey,
          'Idempotency-Key': idempotencyKey,
        },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      return { ok: false, status: undefined, error: { code: 'network_error', message: String(cause) }, retryAfterSeconds: undefined };
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (response.ok && isPayment(json)) return { ok: true, payment: json };
    return {
      ok: false,
      status: response.status,
      error: isErrorBody(json) ? json.error : { code: `http_${response.status}`, message: response.statusText },
      retryAfterSeconds: parseRetryAfter(response.headers.get('Retry-After')),
    };
  }

  async getPayment(id: string): Promise<PaymentView> {
    // No custom header: a simple request needs no CORS preflight on every poll.
    const response = await fetch(`${this.baseUrl}/v1/payments/${encodeURIComponent(id)}`);
    const json: unknown = await response.json();
    if (!response.ok || !isPayment(json)) throw new Error(`GET payment answered ${response.status}`);
    return json;
  }

  /**
   * Calls `onPayment` with each state the relay reports until a terminal one; returns `stop`.
   * States may repeat (the stream starts with the current state); callers compare `seq`.
   */
  watch(id: string, onPayment: (payment: PaymentView) => void): () => void {
    let stopped = false;
    let source: EventSource | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let streamErrors = 0;

    const stop = () => {
      stopped = true;
      source?.close();
      source = undefined;
      clearTimeout(timer);
    };
    const deliver = (payment: PaymentView) => {
      if (stopped) return;
      // Closed before the relay closes the stream, or EventSource would reconnect.
      if (isTerminal(payment)) stop();
      onPayment(payment);
    };
    const poll = async () => {
      try {
        deliver(await this.getPayment(id));
      } catch {
        // The relay may be restarting; the next poll asks again.
      }
      if (!stopped) timer = setTimeout(poll, POLL_INTERVAL_MS);
    };
    const pollInstead = () => {
      source?.close();
      source = undefined;
      void poll();
    };

    if (typeof EventSource !== 'function') {
      pollInstead();
      return stop;
    }
    source = new EventSource(`${this.baseUrl}/v1/payments/${encodeURIComponent(id)}/events`);
    source.addEventListener('status', (event: MessageEvent<string>) => {
      streamErrors = 0;
      const payment = parseJson(event.data);
      if (isPayment(payment)) deliver(payment);
    });
    source.addEventListener('error', () => {
      if (stopped || source === undefined) return;
      // CONNECTING: EventSource retries by itself with Last-Event-ID. CLOSED: it gave up.
      streamErrors += 1;
      if (source.readyState === EventSource.CLOSED || streamErrors >= MAX_STREAM_ERRORS) pollInstead();
    });
    return stop;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPayment(value: unknown): value is PaymentView {
  if (typeof value !== 'object' || value === null) return false;
  const { id, status, seq } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof status === 'string' && typeof seq === 'number';
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const { error } = value as Record<string, unknown>;
  return typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>)['message'] === 'string';
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}
