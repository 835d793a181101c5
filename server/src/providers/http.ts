/**
 * HTTP for provider adapters: JSON with a deadline, and every failure sorted on purpose. Whether a
 * failed request may have reached the provider decides what the relay may do next: a push that
 * never left can be tried again; one that may have arrived must never be.
 *
 * Requests go through undici's `request` on a keep-alive pool, not `fetch`: every push and every
 * status query (one per callback) passes here, and fetch's WHATWG streams, Headers and abort
 * signal cost about 150 µs of CPU more per request (measured here: ~200 µs against ~50 µs for
 * client and server together), which showed in the callback → event latency under load.
 */
import { request as undiciRequest } from 'undici';

export type HttpFailureKind =
  /** The request never reached the provider (connection refused, DNS): nothing happened there. */
  | 'not_sent'
  /** The provider answered 429 / spike arrest: it did not act on the request. */
  | 'throttled'
  /** The provider answered 4xx: it refused the request and did not act on it. */
  | 'refused'
  /** Timeout after the request left, a dropped connection, or 5xx: it may have acted on it. */
  | 'indeterminate';

export class ProviderHttpError extends Error {
  /**
   * The parsed body of an error answer, for the adapter to map (never shown to customers). Not
   * enumerable, so a log line's `err` leaves it out: a provider may echo a key back in it
   * (adapters redact known keys from what they keep of it, `withoutSecrets`).
   */
  declare readonly body: unknown;

  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly status?: number,
    body?: unknown,
    readonly retryAfterMs?: number,
    /** The provider's id of the request, when it gave one before failing. */
    readonly providerRef?: string,
  ) {
    super(message);
    this.name = 'ProviderHttpError';
    Object.defineProperty(this, 'body', { value: body, enumerable: false });
  }
}

/** How a request to a provider ended, for the latency metrics: answered, or why not. */
export type ProviderCallOutcome = 'ok' | 'refused' | HttpFailureKind | 'error';

export function failureOutcome(error: unknown): ProviderCallOutcome {
  return error instanceof ProviderHttpError ? error.kind : 'error';
}

/** How a provider's API words a refusal: a server at a wrong base URL answers 404 too, otherwise. */
export interface ApiErrorShape {
  /** The provider's name in messages ("IntaSend"). */
  label: string;
  recognises(body: unknown): boolean;
}

/**
 * What a failed settings check (`Provider.checkSettings`) says about the settings: `refusal` when
 * the provider refused the credentials (401/403), the error when nothing answered at the base URL,
 * undefined when the provider is only having trouble. Other refusals (400, 404 for the made-up id
 * a check asks about) mean the credentials got through, when the refusal is worded as the
 * provider's API words them (`api`): any web server answers 404 for a path it does not have.
 */
export function settingsProblem(error: unknown, refusal: string, baseUrl: string, api?: ApiErrorShape): string | undefined {
  if (!(error instanceof ProviderHttpError)) return `the check failed unexpectedly (${error instanceof Error ? error.name : typeof error})`;
  if (error.kind === 'refused' && (error.status === 401 || error.status === 403)) return `${refusal} (HTTP ${error.status})`;
  if (error.kind === 'refused' && api && !api.recognises(error.body)) {
    return `${baseUrl} answered HTTP ${error.status}, but not as ${api.label}'s API does: check the base URL`;
  }
  if (error.kind === 'not_sent') return `nothing answers at ${baseUrl}: ${error.message}`;
  return undefined;
}

/** A reference no payment has, for settings checks that ask about one. */
export const SETTINGS_CHECK_REF = 'STKPAYREADYZ';

export interface JsonRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** No answer (headers) or no more of the body within the deadline. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The error's code, or its cause's (several addresses tried: the first one's). */
function errorCode(error: unknown): string | undefined {
  const failure = error as { code?: string; cause?: { code?: string }; errors?: { code?: string }[] };
  return failure.code ?? failure.cause?.code ?? failure.errors?.[0]?.code;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * Sends a JSON request. Resolves with any 2xx answer; throws ProviderHttpError otherwise.
 * `okStatuses` lets an adapter accept an error status its provider uses for a normal answer
 * (Daraja's "being processed" comes as a 500 body).
 */
export async function requestJson(request: JsonRequest, okStatuses: number[] = []): Promise<JsonResponse> {
  const timeoutMs = request.timeoutMs ?? 20_000;
  let status: number;
  let headers: Record<string, string | string[] | undefined>;
  let text: string;
  try {
    const response = await undiciRequest(request.url, {
      method: request.method,
      headers: {
        accept: 'application/json',
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...request.headers,
      },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      // The deadline: for the answer to begin, then for each pause in its body. Connecting has
      // undici's own limit (10 s), and a connection that never opened is `not_sent`.
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    ({ statusCode: status, headers } = response);
    text = await response.body.text();
  } catch (error) {
    // Whatever failed after the request may have left (a timeout, a dropped connection, a body
    // cut short) may have reached the provider.
    const code = errorCode(error);
    if (code && NOT_SENT_CODES.has(code)) throw new ProviderHttpError('not_sent', `could not connect (${code})`);
    throw new ProviderHttpError('indeterminate', code && TIMEOUT_CODES.has(code) ? 'timed out' : `connection failed (${code ?? 'unknown'})`);
  }
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Some gateways answer HTML or plain text on errors; keep the text for the adapter.
  }
  if ((status >= 200 && status < 300) || okStatuses.includes(status)) {
    return { status, body };
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  if (status === 429) throw new ProviderHttpError('throttled', 'rate limited (429)', 429, body, retryAfterMs);
  if (status >= 500) throw new ProviderHttpError('indeterminate', `provider error (${status})`, status, body, retryAfterMs);
  throw new ProviderHttpError('refused', `refused (${status})`, status, body);
}

/** `text` with each of `secrets` replaced by `[redacted]`: a provider's answer may echo a key. */
export function withoutSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let clean = text;
  for (const secret of secrets) if (secret) clean = clean.split(secret).join('[redacted]');
  return clean;
}

/** Runs of characters as long as a key, a token or a base64 password: a provider's own words hold none. */
const KEY_LIKE = /[A-Za-z0-9+/=]{20,}/g;

/**
 * A provider's words from an answer (an error message, a failure reason), kept short and printable
 * for the log, the store and the merchant, never shown to customers; with the credentials taken
 * out, should the provider or a gateway before it echo the request (a bearer token, Daraja's
 * Password, a webhook challenge, the callback token): exactly where known, and any run of
 * key-like characters.
 */
export function providerWords(text: string | undefined, secrets: readonly (string | undefined)[]): string {
  return withoutSecrets((text ?? '').replace(/[^\x20-\x7e]/g, ''), secrets).replace(KEY_LIKE, '[redacted]').slice(0, 120);
}
