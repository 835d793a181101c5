/**
 * UpesiPay (seed 003; upesipay.com/docs): a thin Daraja wrapper with PayHero's v2 API shape.
 *
 * Which id goes where, as far as the documentation settles it:
 * - the push answers `reference` (UpesiPay's id) and `CheckoutRequestID` (Daraja's);
 * - the status query takes `reference`, "or the MPESA code of the transaction";
 * - the callback carries `CheckoutRequestID`, our `ExternalReference` and, when paid, the
 *   `MpesaReceiptNumber`, but never `reference`.
 * So a payment's providerRef is `reference`, the one id the status query is documented to take.
 * A callback names its payment by `ExternalReference` (we send our payment id there); its own
 * providerRef is the receipt when it has one (the query takes it too, so a callback for a push
 * whose answer was lost can still be confirmed), else its CheckoutRequestID.
 *
 * Callbacks are unsigned: the relay's secret path token guards the route and the service confirms
 * every final claim with `queryStatus`.
 */
import { z } from 'zod';
import { normalizePhone, toLocalPhone } from '../phone.js';
import { ProviderHttpError, providerWords, requestJson, SETTINGS_CHECK_REF, settingsProblem, type JsonResponse } from './http.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import { isDigits, isHttpUrl, readSettings, type Env } from './settings.js';
import type { CallbackInput, ParsedCallback, Provider, ProviderStatus, PushRequest, PushResult } from './types.js';

export interface UpesiPayOptions {
  baseUrl: string;
  /** The dashboard's Basic auth token, sent as `Authorization: Basic <token>`. */
  authToken: string;
  channelId: number;
  /** A registered credential for the merchant's own Daraja integration (optional). */
  credentialId?: string;
  timeoutMs?: number;
}

const resultCodeSchema = z.union([z.number().int(), z.string().regex(/^\d+$/)]);

const pushAnswerSchema = z.object({
  success: z.boolean().optional(),
  reference: z.string().optional(),
});

const statusAnswerSchema = z.object({
  status: z.string(),
  provider_reference: z.string().nullish(),
  third_party_reference: z.string().nullish(),
  // Not in the documented answer; read if UpesiPay adds the Daraja result as its callback names it.
  ResultCode: resultCodeSchema.optional(),
  ResultDesc: z.string().optional(),
});

const callbackSchema = z.object({
  response: z.object({
    // Only the ids and the result are always there: a failed prompt has no M-Pesa details (null).
    Amount: z.union([z.number(), z.string()]).nullish(),
    CheckoutRequestID: z.string().min(1),
    ExternalReference: z.string().nullish(),
    MpesaReceiptNumber: z.string().nullish(),
    Phone: z.union([z.string(), z.number()]).nullish(),
    ResultCode: resultCodeSchema,
    ResultDesc: z.string().nullish(),
  }),
});

/** An M-Pesa receipt (`SKQ96C7K7H`): what a status answer's reference fields must look like to be shown as one. */
const RECEIPT = /^[A-Z0-9]{10}$/;
/** Words of a refusal by UpesiPay's abuse protection (the wording is not documented). */
const ABUSE_BLOCK = /block|restrict|abuse|too many/i;

export class UpesiPayProvider implements Provider {
  readonly name = 'upesipay';
  readonly signedCallbacks = false;
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  /** The relay's secret callback path token (`hideCallbackToken`). */
  private callbackToken: string | undefined;

  constructor(private readonly options: UpesiPayOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.headers = { authorization: `Basic ${options.authToken}` };
  }

  async requestPayment(request: PushRequest): Promise<PushResult> {
    if (!Number.isSafeInteger(request.amount) || request.amount < 1) {
      return { kind: 'refused', code: 'rejected', message: 'UpesiPay takes whole shillings only; no prompt was sent.' };
    }
    let answer: JsonResponse;
    try {
      answer = await requestJson({
        method: 'POST',
        url: `${this.baseUrl}/api/v2/payments`,
        headers: this.headers,
        body: {
          amount: request.amount,
          phone_number: toLocalPhone(request.phone),
          channel_id: this.options.channelId,
          provider: 'm-pesa',
          external_reference: request.paymentId,
          callback_url: request.callbackUrl,
          ...(this.options.credentialId ? { credential_id: this.options.credentialId } : {}),
        },
        ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      });
    } catch (error) {
      if (!(error instanceof ProviderHttpError)) throw error;
      if (error.kind === 'refused') return refusal(error.status, error.body);
      const reference = error.kind === 'indeterminate' ? pushAnswerSchema.safeParse(error.body).data?.reference : undefined;
      // A 5xx that still names the request: the relay can ask about it instead of waiting for a callback.
      if (reference) throw new ProviderHttpError(error.kind, error.message, error.status, error.body, error.retryAfterMs, reference);
      throw error;
    }
    const parsed = pushAnswerSchema.safeParse(answer.body);
    if (parsed.success && parsed.data.success === false) return refusal(answer.status, answer.body);
    if (!parsed.success || !parsed.data.reference) {
      // A 2xx we cannot read may still have sent the prompt: never a refusal, never sent again.
      throw new ProviderHttpError('indeterminate', `push answer ${answer.status} without a reference`, answer.status, answer.body);
    }
    return { kind: 'accepted', providerRef: parsed.data.reference };
  }

  async queryStatus(providerRef: string): Promise<ProviderStatus> {
    const { status, body } = await requestJson({
      method: 'GET',
      url: `${this.baseUrl}/api/v2/transaction-status?reference=${encodeURIComponent(providerRef)}`,
      headers: this.headers,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    const parsed = statusAnswerSchema.safeParse(body);
    if (!parsed.success) throw new ProviderHttpError('indeterminate', `status answer ${status} without a status`, status, body);
    const answer = parsed.data;
    switch (answer.status.toUpperCase()) {
      case 'QUEUED':
        return { status: 'pending' };
      case 'SUCCESS': {
        // Both fields hold the M-Pesa code in UpesiPay's example; provider_reference is the
        // reference of the provider the answer names ("provider": "m-pesa").
        const receipt = [answer.provider_reference, answer.third_party_reference].find((value) => value && RECEIPT.test(value));
        return { status: 'succeeded', ...(receipt ? { receipt } : {}) };
      }
      case 'FAILED': {
        const byCode = answer.ResultCode === undefined ? undefined : statusFromResultCode(Number(answer.ResultCode), providerWords(answer.ResultDesc, this.secrets()));
        if (byCode?.status === 'failed') return byCode;
        return { status: 'failed', code: 'provider_error', message: 'UpesiPay reports the payment failed and gives no reason.' };
      }
      default:
        // An answer we do not know is no answer: ask again later rather than guess a final state.
        return { status: 'pending' };
    }
  }

  /**
   * What must never be kept from UpesiPay's words (a ResultDesc that echoes the request): the
   * token, the callback token. The merchant sees them in the API and webhooks.
   */
  hideCallbackToken(token: string): void {
    this.callbackToken = token;
  }

  private secrets(): (string | undefined)[] {
    return [this.options.authToken, this.callbackToken];
  }

  /**
   * A status query about a reference nobody has: refused (401) with a wrong token, "not found"
   * with the right one. The channel id is proven only by a push (one refused for it says so).
   */
  async checkSettings(): Promise<string | undefined> {
    try {
      await this.queryStatus(SETTINGS_CHECK_REF);
      return undefined;
    } catch (error) {
      // UpesiPay words every refusal `{"success": false, "message": "…"}`.
      const recognises = (body: unknown) => typeof body === 'object' && body !== null && (body as Record<string, unknown>)['success'] === false;
      return settingsProblem(error, 'UpesiPay refused UPESIPAY_AUTH_TOKEN', this.baseUrl, { label: 'UpesiPay', recognises });
    }
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    const parsed = callbackSchema.safeParse(input.body);
    if (!parsed.success) return { kind: 'reject', reason: 'not an UpesiPay callback body' };
    const callback = parsed.data.response;
    const amount = callback.Amount == null || !Number.isFinite(Number(callback.Amount)) ? undefined : Number(callback.Amount);
    const phone = callback.Phone == null ? undefined : normalizePhone(String(callback.Phone));
    const receipt = callback.MpesaReceiptNumber?.trim() || undefined;
    const result = statusFromResultCode(Number(callback.ResultCode), providerWords(callback.ResultDesc ?? undefined, this.secrets()));
    const paid = result.status === 'succeeded';
    return {
      kind: 'status',
      providerRef: paid && receipt ? receipt : callback.CheckoutRequestID,
      ...(paid && receipt ? { refIsTransaction: true as const } : {}),
      update: paid ? { status: 'succeeded', ...(receipt ? { receipt } : {}), ...(amount !== undefined ? { amount } : {}) } : result,
      ...(callback.ExternalReference ? { paymentId: callback.ExternalReference } : {}),
      ...(phone?.ok && amount !== undefined ? { match: { phone: phone.msisdn, amount } } : {}),
    };
  }
}

/** Our own words for a refused push: the provider's text may carry anything and is never echoed. */
function refusal(status: number | undefined, body: unknown): PushResult {
  if (status === 401) {
    return { kind: 'refused', code: 'provider_error', message: 'UpesiPay did not accept UPESIPAY_AUTH_TOKEN; no prompt was sent.', setup: true };
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  if (ABUSE_BLOCK.test(text)) {
    return {
      kind: 'refused',
      code: 'rejected',
      message: 'UpesiPay blocked the request (its protection against repeated failed prompts); no prompt was sent.',
    };
  }
  return { kind: 'refused', code: 'rejected', message: `UpesiPay refused the request${status ? ` (HTTP ${status})` : ''}; no prompt was sent.` };
}

export function upesipayFromEnv(env: Env): UpesiPayProvider {
  const settings = readSettings(env, {
    UPESIPAY_BASE_URL: { expects: 'the UpesiPay API base URL, e.g. https://upesipay.com', default: 'https://upesipay.com', valid: isHttpUrl },
    // No `valid` check: readSettings would print the refused value, and this one is a secret.
    UPESIPAY_AUTH_TOKEN: { expects: 'the Basic auth token from the UpesiPay dashboard' },
    UPESIPAY_CHANNEL_ID: {
      expects: 'the payment channel ID from UpesiPay (Payment Channels menu), digits only, e.g. 2133',
      valid: (value) => isDigits(value) && Number.isSafeInteger(Number(value)),
    },
    UPESIPAY_CREDENTIAL_ID: { expects: 'the ID of a Daraja credential registered with UpesiPay (optional)', default: '' },
  });
  return new UpesiPayProvider({
    baseUrl: settings.UPESIPAY_BASE_URL,
    // The dashboard shows the token alone; accept it pasted with its scheme too.
    authToken: settings.UPESIPAY_AUTH_TOKEN.replace(/^Basic\s+/i, ''),
    channelId: Number(settings.UPESIPAY_CHANNEL_ID),
    ...(settings.UPESIPAY_CREDENTIAL_ID ? { credentialId: settings.UPESIPAY_CREDENTIAL_ID } : {}),
  });
}
