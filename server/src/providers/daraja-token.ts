/**
 * Daraja OAuth access tokens (`GET /oauth/v1/generate`), cached for their lifetime (~1 h) and
 * refreshed a few minutes before they expire. Concurrent pushes share one refresh.
 */
import { z } from 'zod';
import { ProviderHttpError, requestJson, type HttpFailureKind } from './http.js';
import type { RequestTimer } from './types.js';

const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  // Documented as a string ("3599"); a number is accepted too.
  expires_in: z.union([z.string().regex(/^\d+$/), z.number().int().positive()]).optional(),
});

const DEFAULT_LIFETIME_S = 3599;
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface TokenSource {
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  timeoutMs: number;
  now: () => number;
}

interface CachedToken {
  value: string;
  refreshAt: number;
  expiresAt: number;
}

export class DarajaTokens {
  private cached: CachedToken | undefined;
  private refreshing: Promise<string> | undefined;
  /** Times each token request for the relay's metrics, once the relay has given one. */
  timer: RequestTimer | undefined;

  constructor(private readonly source: TokenSource) {}

  /** A token that should still be valid; fetches one when none is cached or it is due for refresh. */
  async get(): Promise<string> {
    const cached = this.cached;
    if (cached && this.source.now() < cached.refreshAt) return cached.value;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** The token in hand, if any (to keep it out of text that Daraja may echo back). */
  get current(): string | undefined {
    return this.cached?.value;
  }

  /** Forgets `value` after Daraja refused it, unless a newer token has already replaced it. */
  invalidate(value: string): void {
    if (this.cached?.value === value) this.cached = undefined;
  }

  private async refresh(): Promise<string> {
    const previous = this.cached;
    try {
      const fetched = await this.fetch();
      const lifetimeMs = fetched.lifetimeS * 1000;
      const now = this.source.now();
      this.cached = {
        value: fetched.token,
        // Short lifetimes (tests, odd gateways) refresh halfway instead of immediately.
        refreshAt: now + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
        expiresAt: now + lifetimeMs,
      };
      return fetched.token;
    } catch (error) {
      // An early refresh that failed: the old token still works until it expires.
      if (previous && this.cached === previous && this.source.now() < previous.expiresAt) return previous.value;
      throw error;
    }
  }

  private async fetch(): Promise<{ token: string; lifetimeS: number }> {
    const { baseUrl, consumerKey, consumerSecret, timeoutMs } = this.source;
    let body: unknown;
    const timing = this.timer?.('token');
    try {
      ({ body } = await requestJson({
        method: 'GET',
        url: `${baseUrl}/oauth/v1/generate?grant_type=client_credentials`,
        headers: { authorization: `Basic ${Buffer.from(`${consumerKey}:${consumerSecret}`).toString('base64')}` },
        timeoutMs,
      }));
    } catch (error) {
      timing?.failed(error);
      throw tokenFailure(error);
    }
    const parsed = tokenAnswerSchema.safeParse(body);
    timing?.done(parsed.success ? 'ok' : 'error');
    // No request was made with it, so nothing happened at Daraja: safe to try again. For the
    // settings, an answer that is not Daraja's is a wrong base URL, as a 404 is.
    if (!parsed.success) throw new DarajaTokenError('not_sent', 'Daraja answered the token request without an access token', 'refused');
    const lifetimeS = Number(parsed.data.expires_in ?? DEFAULT_LIFETIME_S);
    return { token: parsed.data.access_token, lifetimeS: lifetimeS > 0 ? lifetimeS : DEFAULT_LIFETIME_S };
  }
}

/**
 * A failed token request, seen from the request that needed the token (`kind`): that request never
 * left, so a token request that timed out or was answered 5xx is `not_sent` for it. How the token
 * request itself ended stays in `tokenRequestKind`: a settings check reads that, as Daraja's token
 * endpoint in trouble says nothing about the settings.
 */
export class DarajaTokenError extends ProviderHttpError {
  constructor(
    kind: HttpFailureKind,
    message: string,
    readonly tokenRequestKind: HttpFailureKind,
    status?: number,
    retryAfterMs?: number,
  ) {
    super(kind, message, status, undefined, retryAfterMs);
  }
}

/** Refused credentials will not get better by retrying; anything else may. */
function tokenFailure(error: unknown): DarajaTokenError {
  if (!(error instanceof ProviderHttpError)) return new DarajaTokenError('not_sent', `could not get a Daraja access token: ${String(error)}`, 'not_sent');
  if (error.kind === 'refused') {
    // Daraja refuses credentials with 400 or 401; a 404 (or any other) is a wrong address, and
    // will not get better by retrying either.
    const credentials = error.status === 400 || error.status === 401 || error.status === 403;
    return new DarajaTokenError('refused', credentials ? `Daraja refused the consumer key and secret (HTTP ${error.status})` : `the token request was answered HTTP ${error.status ?? '?'}, not as Daraja answers`, 'refused', error.status);
  }
  if (error.kind === 'throttled') return new DarajaTokenError('throttled', 'Daraja throttled the token request', 'throttled', error.status, error.retryAfterMs);
  return new DarajaTokenError('not_sent', `could not get a Daraja access token: ${error.message}`, error.kind, error.status);
}
