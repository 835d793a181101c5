/**
 * HTTP for provider adapters: JSON over fetch with a deadline, and every failure sorted on
 * purpose. Whether a failed request may have reached the provider decides what the relay may do
 * next: a push that never left can be tried again; one that may have arrived must never be.
 */
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
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly status?: number,
    /** The parsed body of an error answer, for the adapter to map (never shown to customers). */
    readonly body?: unknown,
    readonly retryAfterMs?: number,
    /** The provider's id of the request, when it gave one before failing. */
    readonly providerRef?: string,
  ) {
    super(message);
    this.name = 'ProviderHttpError';
  }
}

/** How a request to a provider ended, for the latency metrics: answered, or why not. */
export type ProviderCallOutcome = 'ok' | 'refused' | HttpFailureKind | 'error';

export function failureOutcome(error: unknown): ProviderCallOutcome {
  return error instanceof ProviderHttpError ? error.kind : 'error';
}

/**
 * What a failed settings check (`Provider.checkSettings`) says about the settings: `refusal` when
 * the provider refused the credentials (401/403), the error when nothing answered at the base URL,
 * undefined when the provider is only having trouble. Other refusals (400, 404 for the made-up id
 * a check asks about) mean the credentials got through.
 */
export function settingsProblem(error: unknown, refusal: string, baseUrl: string): string | undefined {
  if (!(error instanceof ProviderHttpError)) return `the check failed unexpectedly (${error instanceof Error ? error.name : typeof error})`;
  if (error.kind === 'refused' && (error.status === 401 || error.status === 403)) return `${refusal} (HTTP ${error.status})`;
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

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * Sends a JSON request. Resolves with any 2xx answer; throws ProviderHttpError otherwise.
 * `okStatuses` lets an adapter accept an error status its provider uses for a normal answer
 * (Daraja's "being processed" comes as a 500 body).
 */
export async function requestJson(request: JsonRequest, okStatuses: number[] = []): Promise<JsonResponse> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: {
        accept: 'application/json',
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...request.headers,
      },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal: AbortSignal.timeout(request.timeoutMs ?? 20_000),
    });
  } catch (error) {
    const code = causeCode(error);
    if (code && NOT_SENT_CODES.has(code)) throw new ProviderHttpError('not_sent', `could not connect (${code})`);
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : `connection failed (${code ?? 'unknown'})`;
    throw new ProviderHttpError('indeterminate', reason);
  }
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Some gateways answer HTML or plain text on errors; keep the text for the adapter.
  }
  if ((response.status >= 200 && response.status < 300) || okStatuses.includes(response.status)) {
    return { status: response.status, body };
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  if (response.status === 429) throw new ProviderHttpError('throttled', 'rate limited (429)', 429, body, retryAfterMs);
  if (response.status >= 500) throw new ProviderHttpError('indeterminate', `provider error (${response.status})`, response.status, body, retryAfterMs);
  throw new ProviderHttpError('refused', `refused (${response.status})`, response.status, body);
}
