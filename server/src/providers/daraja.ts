/**
 * Safaricom Daraja direct (M-Pesa Express): a merchant's own paybill or till, no aggregator.
 * Push `POST /mpesa/stkpush/v1/processrequest`, query `POST /mpesa/stkpushquery/v1/query`, both
 * with an OAuth bearer token; the callback is the unsigned `Body.stkCallback`, so the payment
 * service confirms every final claim with a query. Our full reference stays in our store: Daraja
 * gets a 12-character account reference derived from it.
 */
import { z } from 'zod';
import { parseStkCallback } from './daraja-callback.js';
import { DarajaTokenError, DarajaTokens } from './daraja-token.js';
import { ProviderHttpError, providerWords, requestJson, settingsProblem, type HttpFailureKind, type JsonResponse } from './http.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import { kenyaTimestamp } from './mpesa-time.js';
import { isDigits, isHttpUrl, readSettings, type Env } from './settings.js';
import type { CallbackInput, ParsedCallback, Provider, ProviderStatus, PushRequest, PushResult, RequestTimer } from './types.js';

export const DARAJA_TRANSACTION_TYPES = ['CustomerPayBillOnline', 'CustomerBuyGoodsOnline'] as const;
export type DarajaTransactionType = (typeof DARAJA_TRANSACTION_TYPES)[number];

export interface DarajaOptions {
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  /** Paybill number, or the store number of a till (BusinessShortCode). */
  shortcode: string;
  passkey: string;
  transactionType: DarajaTransactionType;
  /** Who receives the money: the paybill (default: the shortcode) or the till number. */
  partyB: string;
  timeoutMs?: number;
  now?: () => number;
}

const PUSH_PATH = '/mpesa/stkpush/v1/processrequest';
const QUERY_PATH = '/mpesa/stkpushquery/v1/query';
const ACCOUNT_REFERENCE_MAX = 12;
const TRANSACTION_DESC_MAX = 13;

/** Daraja refused the bearer token (expired or revoked): it did not act on the request. */
const TOKEN_ERRORS = new Set(['404.001.03', '400.003.01', '401.002.01']);
const THROTTLE_ERRORS = new Set(['500.003.02', '500.003.03']);
/** On a push: wrong credentials (shortcode/passkey) or the subscriber is locked by another prompt. */
const PUSH_REFUSED = '500.001.1001';
/** On a query: the prompt is still open. Same code, another meaning. */
const STILL_PROCESSING = '500.001.1001';

const errorBodySchema = z.object({ errorCode: z.string(), errorMessage: z.string().optional() });
const code = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform(String);

const pushAnswerSchema = z.object({
  CheckoutRequestID: z.string().min(1).optional(),
  ResponseCode: code,
  ResponseDescription: z.string().optional(),
  CustomerMessage: z.string().optional(),
});

const queryAnswerSchema = z.object({
  ResponseCode: code,
  ResponseDescription: z.string().optional(),
  ResultCode: code.optional(),
  ResultDesc: z.string().optional(),
});

/** Letters and digits only, cut to `max`: what Daraja and the handset prompt reliably show. */
function plain(text: string | null, max: number, keepSpaces: boolean): string {
  const cleaned = (text ?? '').replace(keepSpaces ? /[^A-Za-z0-9 ]/g : /[^A-Za-z0-9]/g, '').replace(/ +/g, ' ').trim();
  return cleaned.slice(0, max).trim();
}

/** The merchant's reference, plain and cut to 12; our id's tail when it has none. */
export function accountReference(request: Pick<PushRequest, 'paymentId' | 'reference'>): string {
  return plain(request.reference, ACCOUNT_REFERENCE_MAX, false) || plain(request.paymentId.slice(-ACCOUNT_REFERENCE_MAX), ACCOUNT_REFERENCE_MAX, false);
}

export function transactionDesc(description: string | null): string {
  return plain(description, TRANSACTION_DESC_MAX, true) || 'Payment';
}

/** Daraja's error body (`{requestId, errorCode, errorMessage}`) of a failed request, if it has one. */
function darajaError(error: unknown, secrets: readonly (string | undefined)[] = []): { code: string; message: string } | undefined {
  if (!(error instanceof ProviderHttpError)) return undefined;
  const parsed = errorBodySchema.safeParse(error.body);
  if (!parsed.success) return undefined;
  return { code: parsed.data.errorCode, message: providerWords(parsed.data.errorMessage, secrets) };
}

/** Sorts a failed Daraja request by its error code, which says more than the HTTP status. */
function classify(error: unknown, during: 'push' | 'query', secrets: readonly (string | undefined)[]): unknown {
  if (!(error instanceof ProviderHttpError)) return error;
  const found = darajaError(error, secrets);
  const described = found ? `Daraja ${found.code}: ${found.message}` : `Daraja ${error.message}`;
  let kind: HttpFailureKind = error.kind;
  if (found && THROTTLE_ERRORS.has(found.code)) kind = 'throttled';
  else if (found && during === 'push' && found.code === PUSH_REFUSED) kind = 'refused';
  if (kind === error.kind && found === undefined) return error;
  return new ProviderHttpError(kind, described, error.status, error.body, error.retryAfterMs, error.providerRef);
}

function isTokenRefusal(error: unknown): boolean {
  if (!(error instanceof ProviderHttpError)) return false;
  return error.status === 401 || TOKEN_ERRORS.has(darajaError(error)?.code ?? '');
}

export class DarajaProvider implements Provider {
  readonly name = 'daraja';
  readonly signedCallbacks = false;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly tokens: DarajaTokens;

  constructor(private readonly options: DarajaOptions) {
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    const { baseUrl, consumerKey, consumerSecret } = options;
    this.tokens = new DarajaTokens({ baseUrl, consumerKey, consumerSecret, timeoutMs: this.timeoutMs, now: this.now });
  }

  async requestPayment(request: PushRequest): Promise<PushResult> {
    let response: JsonResponse;
    try {
      response = await this.call(PUSH_PATH, {
        ...this.credentials(),
        TransactionType: this.options.transactionType,
        Amount: request.amount,
        PartyA: request.phone,
        PartyB: this.options.partyB,
        PhoneNumber: request.phone,
        CallBackURL: request.callbackUrl,
        AccountReference: accountReference(request),
        TransactionDesc: transactionDesc(request.description),
      });
    } catch (error) {
      throw classify(error, 'push', this.secrets());
    }
    const answer = pushAnswerSchema.safeParse(response.body);
    if (!answer.success) throw new ProviderHttpError('indeterminate', 'Daraja accepted the push with an answer that could not be read', response.status);
    const { ResponseCode, CheckoutRequestID, ResponseDescription, CustomerMessage } = answer.data;
    if (ResponseCode !== '0') {
      const reason = providerWords(ResponseDescription ?? CustomerMessage, this.secrets());
      return { kind: 'refused', code: 'rejected', message: `Daraja did not accept the push (ResponseCode ${ResponseCode}${reason ? `: ${reason}` : ''})` };
    }
    if (!CheckoutRequestID) throw new ProviderHttpError('indeterminate', 'Daraja accepted the push without a CheckoutRequestID', response.status);
    return { kind: 'accepted', providerRef: CheckoutRequestID };
  }

  async queryStatus(providerRef: string): Promise<ProviderStatus> {
    let response: JsonResponse;
    try {
      response = await this.call(QUERY_PATH, { ...this.credentials(), CheckoutRequestID: providerRef });
    } catch (error) {
      // While the prompt is open Daraja answers an error body (HTTP 500): not yet, not failed.
      if (darajaError(error)?.code === STILL_PROCESSING) return { status: 'pending' };
      throw classify(error, 'query', this.secrets());
    }
    const answer = queryAnswerSchema.safeParse(response.body);
    if (!answer.success || answer.data.ResponseCode !== '0' || answer.data.ResultCode === undefined) {
      throw new ProviderHttpError('indeterminate', 'Daraja answered the status query without a result', response.status);
    }
    return statusFromResultCode(Number(answer.data.ResultCode), answer.data.ResultDesc === undefined ? undefined : providerWords(answer.data.ResultDesc, this.secrets()));
  }

  /** What must never be kept from Daraja's answers. */
  private secrets(): (string | undefined)[] {
    const { consumerKey, consumerSecret, passkey } = this.options;
    return [consumerKey, consumerSecret, passkey, this.tokens.current];
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    return parseStkCallback(input.body);
  }

  /**
   * An access token proves the consumer key and secret and the base URL; a cached one counts, so
   * checks cost Daraja one request per token lifetime. The shortcode and passkey are proven only
   * by a push, or by a query about a real one: a query about a made-up id can fail with
   * 500.001.1001, which means both "wrong credentials" and "still processing".
   */
  async checkSettings(): Promise<string | undefined> {
    try {
      await this.tokens.get();
      return undefined;
    } catch (error) {
      // How the token request itself ended. A push counts a token request that timed out or was
      // answered 5xx as not sent (it was not); for the settings, that is Daraja in trouble, which
      // says nothing about them (no news), as for any provider.
      const tokenRequest = error instanceof DarajaTokenError ? error.tokenRequestKind : undefined;
      if (tokenRequest === 'indeterminate' || tokenRequest === 'throttled') return undefined;
      if (error instanceof DarajaTokenError && tokenRequest === 'refused') {
        // Refused credentials (400, 401, 403), or a web server that is not Daraja's (a 404, a 200
        // without a token).
        const credentials = error.status === 400 || error.status === 401 || error.status === 403;
        if (credentials) return `${error.message}: check DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET`;
        return `${this.options.baseUrl} answered the token request ${error.status === undefined ? 'without an access token' : `with HTTP ${error.status}`}: check DARAJA_BASE_URL`;
      }
      // No connection could be made: nothing answers at the base URL.
      return settingsProblem(error, 'Daraja refused the consumer key and secret', this.options.baseUrl);
    }
  }

  timeRequests(timer: RequestTimer): void {
    this.tokens.timer = timer;
  }

  /** BusinessShortCode, Password and Timestamp, which the push and the query both carry. */
  private credentials(): { BusinessShortCode: string; Password: string; Timestamp: string } {
    const { shortcode, passkey } = this.options;
    const timestamp = kenyaTimestamp(this.now());
    return { BusinessShortCode: shortcode, Password: Buffer.from(`${shortcode}${passkey}${timestamp}`).toString('base64'), Timestamp: timestamp };
  }

  /** POSTs with a bearer token; a refused token is replaced and the request sent once more. */
  private async call(path: string, body: unknown): Promise<JsonResponse> {
    const token = await this.tokens.get();
    try {
      return await this.post(path, body, token);
    } catch (error) {
      if (!isTokenRefusal(error)) throw error;
      // Daraja did not act on a request it could not authenticate: sending it again cannot make a second prompt.
      this.tokens.invalidate(token);
      return this.post(path, body, await this.tokens.get());
    }
  }

  private post(path: string, body: unknown, token: string): Promise<JsonResponse> {
    return requestJson({ method: 'POST', url: `${this.options.baseUrl}${path}`, headers: { authorization: `Bearer ${token}` }, body, timeoutMs: this.timeoutMs });
  }
}

/** `daraja` from `DARAJA_*` settings; throws ConfigError naming the first missing or invalid one. */
export function darajaFromEnv(env: Env): DarajaProvider {
  const settings = readSettings(env, {
    DARAJA_BASE_URL: { expects: 'the Daraja base URL (https://sandbox.safaricom.co.ke or https://api.safaricom.co.ke)', default: 'https://sandbox.safaricom.co.ke', valid: isHttpUrl },
    DARAJA_CONSUMER_KEY: { expects: 'the consumer key of your app on the Daraja portal' },
    DARAJA_CONSUMER_SECRET: { expects: 'the consumer secret of your app on the Daraja portal' },
    DARAJA_SHORTCODE: { expects: 'the business shortcode in digits (the paybill, or the store number of a till)', valid: isDigits },
    DARAJA_PASSKEY: { expects: 'the Lipa Na M-Pesa Online passkey Safaricom issued for DARAJA_SHORTCODE' },
    DARAJA_TRANSACTION_TYPE: {
      expects: 'CustomerPayBillOnline (paybill) or CustomerBuyGoodsOnline (till)',
      default: 'CustomerPayBillOnline',
      valid: (value) => (DARAJA_TRANSACTION_TYPES as readonly string[]).includes(value),
    },
  });
  const transactionType = settings.DARAJA_TRANSACTION_TYPE as DarajaTransactionType;
  const till = transactionType === 'CustomerBuyGoodsOnline';
  const { DARAJA_PARTY_B: partyB } = readSettings(env, {
    DARAJA_PARTY_B: {
      expects: till ? 'the till number in digits (required with CustomerBuyGoodsOnline)' : 'the paybill number in digits (default: DARAJA_SHORTCODE)',
      valid: isDigits,
      ...(till ? {} : { default: settings.DARAJA_SHORTCODE }),
    },
  });
  return new DarajaProvider({
    baseUrl: settings.DARAJA_BASE_URL.replace(/\/+$/, ''),
    consumerKey: settings.DARAJA_CONSUMER_KEY,
    consumerSecret: settings.DARAJA_CONSUMER_SECRET,
    shortcode: settings.DARAJA_SHORTCODE,
    passkey: settings.DARAJA_PASSKEY,
    transactionType,
    partyB,
  });
}
