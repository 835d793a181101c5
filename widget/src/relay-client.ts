/**
 * The relay's public API as the widget uses it: create a payment, then follow it over SSE, falling
 * back to polling where EventSource is missing or keeps failing. Types only from the server, so
 * zod stays out of the bundle. Plain functions, not a class: their names shrink in the bundle.
 */
import type { ErrorBody, PaymentView } from '@stk-pay/server/schemas';

export interface NewPayment {
  amount: number;
  phone: string;
  reference?: string;
  description?: string;
  /** A checkout token the merchant's backend signed; the relay checks it. */
  token?: string;
}

/** `status` is undefined when no HTTP answer came back at all (network failure, relay down). */
export type CreateOutcome =
  | { ok: true; payment: PaymentView }
  | { ok: false; status: number | undefined; error: ErrorBody['error'] };

/** A payment being followed. */
export interface Watch {
  stop(): void;
  /** Asks the relay now and reopens a lost stream: the network is back, or the page is visible again. */
  refresh(): void;
}

/** How often the relay is asked while there is no stream. */
export const POLL_INTERVAL_MS = 2500;
/** How often it is asked while there is one: a stream can stall unnoticed on a mobile network. */
const CHECK_WHILE_STREAMING_MS = 10_000;
/** EventSource errors in a row (without a status in between) before switching to polling. */
const MAX_STREAM_ERRORS = 3;
/** Streams opened without one status arriving before giving up on streams (a proxy that blocks SSE). */
const MAX_SILENT_STREAMS = 3;
/** How long one request may take before it counts as no answer. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** `EventSource.CLOSED`, read without the global, which may be missing. */
const CLOSED = 2;

/** 128 random bits as hex; getRandomValues works on plain-http pages too, unlike randomUUID. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `stkpay_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

export function isTerminal(payment: PaymentView): boolean {
  return payment.status === 'succeeded' || payment.status === 'failed';
}

/** `relay`: the relay's base URL, with or without a trailing slash. */
/** `body`: the NewPayment as JSON, as kept for sending again (see open-payment.ts). */
export async function createPayment(relay: string, publishableKey: string, body: string, idempotencyKey: string): Promise<CreateOutcome> {
  let response: Response;
  try {
    response = await fetch(paymentUrl(relay), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Publishable-Key': publishableKey,
        'Idempotency-Key': idempotencyKey,
      },
      body,
      signal: timeout(),
    });
  } catch (cause) {
    return { ok: false, status: undefined, error: { code: 'network_error', message: String(cause) } };
  }
  const json: unknown = await response.json().catch(() => undefined);
  if (response.ok && isPayment(json)) return { ok: true, payment: json };
  return {
    ok: false,
    status: response.status,
    error: isErrorBody(json) ? json.error : { code: `http_${response.status}`, message: response.statusText },
  };
}

/**
 * Calls `onPayment` with each state the relay reports until a terminal one, from its event stream
 * (EventSource reconnects by itself, sending `Last-Event-ID`) and from a status check now and
 * then; polls instead where EventSource is missing or keeps failing. States may repeat and come
 * out of order between stream and checks: callers compare `seq`. `onGone`: no such payment.
 */
export function watchPayment(relay: string, id: string, onPayment: (payment: PaymentView) => void, onGone: () => void): Watch {
  const url = paymentUrl(relay, id);
  let stopped = false;
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let checking = false;
  let streamErrors = 0;
  let silentStreams = 0;

  const dropStream = () => {
    source?.close();
    source = undefined;
  };
  const stop = () => {
    stopped = true;
    dropStream();
    clearTimeout(timer);
  };
  const deliver = (payment: unknown) => {
    if (stopped || !isPayment(payment)) return;
    // Closed before the relay closes the stream, or EventSource would reconnect.
    if (isTerminal(payment)) stop();
    onPayment(payment);
  };
  const openStream = () => {
    if (typeof EventSource !== 'function' || silentStreams >= MAX_SILENT_STREAMS) return;
    silentStreams += 1;
    streamErrors = 0;
    const stream = new EventSource(`${url}/events`);
    source = stream;
    stream.addEventListener('status', (event: MessageEvent<string>) => {
      streamErrors = 0;
      silentStreams = 0;
      let payment: unknown;
      try {
        payment = JSON.parse(event.data);
      } catch {
        return;
      }
      deliver(payment);
    });
    stream.addEventListener('error', () => {
      if (stopped || source !== stream) return;
      // CONNECTING: EventSource retries by itself with Last-Event-ID. CLOSED: it gave up.
      streamErrors += 1;
      if (stream.readyState === CLOSED || streamErrors >= MAX_STREAM_ERRORS) {
        dropStream();
        void check();
      }
    });
  };
  const check = async () => {
    if (checking || stopped) return;
    checking = true;
    clearTimeout(timer);
    let answered = false;
    try {
      // No custom header: a simple request needs no CORS preflight on every poll.
      const response = await fetch(url, { signal: timeout() });
      const payment: unknown = await response.json();
      // Gone only when the relay itself says so: a proxy's own 404 page is a passing fault.
      if (response.status === 404 && isErrorBody(payment)) {
        answered = true;
        stop();
        onGone();
      } else if (response.ok && isPayment(payment)) {
        answered = true;
        deliver(payment);
      }
    } catch {
      // No payment in the answer (the relay may be restarting, or the network down): ask again later.
    }
    checking = false;
    if (stopped) return;
    // A stream that ended before a terminal state (closed by its page, or given up by EventSource).
    if (source?.readyState === CLOSED) dropStream();
    if (source === undefined && answered) openStream();
    timer = setTimeout(check, source ? CHECK_WHILE_STREAMING_MS : POLL_INTERVAL_MS);
  };

  openStream();
  timer = setTimeout(check, source ? CHECK_WHILE_STREAMING_MS : 0);
  return { stop, refresh: () => void check() };
}

/**
 * A deadline for one request, so a request the network swallowed cannot freeze the checkout (a
 * payment's retry reuses its key). None where the browser has no AbortSignal.timeout.
 */
const timeout = (): AbortSignal | undefined => AbortSignal.timeout?.(REQUEST_TIMEOUT_MS);

function paymentUrl(relay: string, id?: string): string {
  return `${relay.replace(/\/+$/, '')}/v1/payments${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;
}

function isPayment(value: unknown): value is PaymentView {
  if (typeof value !== 'object' || value === null) return false;
  const { id, status, seq } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof status === 'string' && typeof seq === 'number';
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof (value as Partial<ErrorBody> | undefined)?.error?.message === 'string';
}
