/**
 * The relay's public API as the bot uses it, exactly as the widget does: the publishable key, a
 * payment created with an idempotency key, its status over SSE. Types only from the server.
 */
import type { ErrorBody, PaymentView } from '@stk-pay/server/schemas';
import { readEventStream, SseResponseError } from './sse.js';

/**
 * What the customer agreed to pay. With `token`, amount, reference and description are its claims,
 * kept to show the customer: the relay takes them from the token it verifies, never from the body.
 */
export interface Checkout {
  amount: number;
  reference?: string;
  description?: string;
  /** A checkout token the merchant's backend signed; the relay verifies it. */
  token?: string;
}

/** Why the relay did not do what was asked. */
export type RelayProblem =
  /**
   * No answer, or not the relay's (connection refused, timeout, 5xx, a proxy's error page).
   * `mayHaveArrived`: the request may have reached the relay (all but a connection never made).
   */
  | { kind: 'unreachable'; detail: string; mayHaveArrived: boolean }
  | {
      kind: 'refused';
      status: number;
      code: string;
      message: string;
      /** The field at fault (400), e.g. `amount`, `token`, `reference`. */
      field?: string;
      fieldMessage?: string;
      retryAfterSeconds?: number;
    };

export type RelayAnswer<T> = { ok: true; value: T } | { ok: false; problem: RelayProblem };

/** The relay itself says it does not know the payment (its JSON 404): following it cannot go on. */
export class PaymentGoneError extends Error {
  override name = 'PaymentGoneError';
}

/** How long the bot waits for one answer from the relay. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** Failures before any connection was made: the request cannot have reached the relay. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export class RelayClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly publishableKey: string,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Sends the prompt. The same key again returns the same payment and sends no second prompt. */
  createPayment(checkout: Checkout, msisdn: string, idempotencyKey: string, signal?: AbortSignal): Promise<RelayAnswer<PaymentView>> {
    return this.post('/v1/payments', { ...requestBody(checkout), phone: msisdn }, idempotencyKey, 201, signal) as Promise<RelayAnswer<PaymentView>>;
  }

  /**
   * Asks the relay whether it would take these terms (amount within the merchant's range, a
   * genuine unexpired token, or a merchant that takes free amounts at all) before the customer is
   * asked for a phone number: `POST /v1/checkout/terms` stores nothing and sends no prompt.
   */
  async checkTerms(checkout: Checkout): Promise<RelayAnswer<true>> {
    const answer = await this.post('/v1/checkout/terms', requestBody(checkout), undefined, 200);
    return answer.ok ? { ok: true, value: true } : answer;
  }

  async getPayment(id: string, signal?: AbortSignal): Promise<PaymentView> {
    const response = await fetch(this.paymentUrl(id), { signal: signal ?? AbortSignal.timeout(this.timeoutMs) });
    const json: unknown = await response.json().catch(() => undefined);
    if (isNotFound(response.status, json)) throw new PaymentGoneError(`the relay does not know payment ${id}`);
    if (!response.ok || json === undefined) throw new Error(`GET payment answered HTTP ${response.status}`);
    return json as PaymentView;
  }

  /**
   * The payment's states from its event stream, until the relay closes it (after a terminal
   * state). Throws when the stream breaks; the caller reconnects with the last `seq` it saw.
   */
  async *paymentEvents(id: string, options: { afterSeq?: number; signal: AbortSignal; idleMs: number }): AsyncGenerator<PaymentView> {
    try {
      let heard = false;
      for await (const event of readEventStream(`${this.paymentUrl(id)}/events`, {
        signal: options.signal,
        idleMs: options.idleMs,
        ...(options.afterSeq !== undefined ? { lastEventId: String(options.afterSeq) } : {}),
      })) {
        heard = true;
        if (event.event === 'status') yield JSON.parse(event.data) as PaymentView;
      }
      // Over with nothing to hear (204, resumed after the final event): the payment as it ended.
      if (!heard && !options.signal.aborted) yield await this.getPayment(id, options.signal);
    } catch (error) {
      if (error instanceof SseResponseError && isNotFound(error.status, error.body)) throw new PaymentGoneError(`the relay does not know payment ${id}`);
      throw error;
    }
  }

  private paymentUrl(id: string): string {
    return `${this.baseUrl}/v1/payments/${encodeURIComponent(id)}`;
  }

  private async post(path: string, body: object, idempotencyKey: string | undefined, success: number, signal?: AbortSignal): Promise<RelayAnswer<unknown>> {
    // Its own timer, held here until the answer is read, as the relay's webhook deliverer does: on
    // Node 20 an AbortSignal.timeout() passed to AbortSignal.any() is held only weakly, and once
    // collected it never fires (a relay that hung would hold the customer's Pay for undici's 300 s).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), this.timeoutMs);
    const follow = (): void => deadline.abort(signal?.reason);
    if (signal?.aborted) follow();
    else signal?.addEventListener('abort', follow, { once: true });
    try {
      return await this.send(path, body, idempotencyKey, success, deadline.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', follow);
    }
  }

  private async send(path: string, body: object, idempotencyKey: string | undefined, success: number, signal: AbortSignal): Promise<RelayAnswer<unknown>> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-publishable-key': this.publishableKey,
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      return { ok: false, problem: { kind: 'unreachable', detail: describe(error), mayHaveArrived: !NEVER_CONNECTED.has(describe(error)) } };
    }
    const json: unknown = await response.json().catch(() => undefined);
    // A success whose body was cut off (the wait ran out while it came) was still a success.
    if (response.status === success && json === undefined) return { ok: false, problem: { kind: 'unreachable', detail: 'the answer was cut off', mayHaveArrived: true } };
    if (response.status === success) return { ok: true, value: json };
    if (response.status >= 500 || !isErrorBody(json)) {
      return { ok: false, problem: { kind: 'unreachable', detail: `HTTP ${response.status}`, mayHaveArrived: true } };
    }
    const { code, message, details } = json.error;
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    const detail = details?.[0];
    return {
      ok: false,
      problem: {
        kind: 'refused',
        status: response.status,
        code,
        message,
        ...(detail ? { field: detail.field, fieldMessage: detail.message } : {}),
        ...(Number.isSafeInteger(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
      },
    };
  }
}

/**
 * The fields of a checkout the relay takes (its body schema is strict: nothing else may go). A
 * token's reference and description are not sent: the relay reads them from the token, and its
 * body limits (64 and 140 characters, the reference's characters) would refuse what a merchant
 * signed and the relay accepts.
 */
function requestBody({ amount, reference, description, token }: Checkout): object {
  return token ? { amount, token } : { amount, reference, description };
}

/**
 * The relay's own "no such payment". Any other 404 (a proxy's page during a deploy or a reload, a
 * path the proxy does not route yet) is a passing fault, retried like a dropped connection.
 */
function isNotFound(status: number, json: unknown): boolean {
  return status === 404 && isErrorBody(json) && json.error.code === 'not_found';
}

function isErrorBody(json: unknown): json is ErrorBody {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

export function isTerminal(payment: Pick<PaymentView, 'status'>): boolean {
  return payment.status === 'succeeded' || payment.status === 'failed';
}
