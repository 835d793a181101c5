/**
 * IntaSend, and KulmiPay (IntaSend's API under another name): one adapter, the differences as
 * options. Both push with `POST /api/v1/payment/mpesa-stk-push/`, answer with an invoice whose
 * `invoice_id` we keep as the provider reference, report it by `POST /api/v1/payment/status/`, and
 * send a webhook on every state change (PENDING, PROCESSING, then final) to the URL set in their
 * dashboard (for this relay: `${PUBLIC_URL}/v1/callbacks/<intasend|kulmipay>/<CALLBACK_TOKEN>`), so
 * the push ignores `callbackUrl`. `api_ref` carries our payment id, so webhooks and status answers
 * name the payment even when the push's answer was lost.
 *
 * Webhooks prove themselves with the dashboard's challenge string, a shared secret rather than a
 * signature of the body: `signedCallbacks` is false and the relay confirms every final state by
 * the status endpoint before applying it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ProviderHttpError, providerWords, requestJson, SETTINGS_CHECK_REF, settingsProblem } from './http.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import { isHttpUrl, readSettings, type Env, type SettingSpec } from './settings.js';
import type { CallbackInput, ParsedCallback, Provider, ProviderStatus, PushRequest, PushResult } from './types.js';

export type IntaSendFlavour = 'intasend' | 'kulmipay';
export type MobileTariff = 'BUSINESS-PAYS' | 'CUSTOMER-PAYS';

export interface IntaSendOptions {
  flavour: IntaSendFlavour;
  baseUrl: string;
  /** IntaSend: sent in the push body and to the status endpoint. KulmiPay does not use it. */
  publishableKey: string;
  secretKey: string;
  /** The challenge string set with the webhook URL in the dashboard. */
  webhookChallenge: string;
  /**
   * IntaSend only: push through the legacy `POST /api/v1/payment/collection/` of the seed docs,
   * authenticated by `public_key` in the body alone, instead of the current Bearer endpoint.
   */
  legacyCollection?: boolean;
  /** Wallet that receives the funds; the account's default wallet when unset. */
  walletId?: string;
  /** KulmiPay only: who bears the M-Pesa fee; the account's default when unset. */
  mobileTariff?: MobileTariff;
  timeoutMs?: number;
}

const LABEL: Record<IntaSendFlavour, string> = { intasend: 'IntaSend', kulmipay: 'KulmiPay' };
const ENV_PREFIX: Record<IntaSendFlavour, string> = { intasend: 'INTASEND', kulmipay: 'KULMIPAY' };
const STK_PUSH_PATH = '/api/v1/payment/mpesa-stk-push/';
const LEGACY_COLLECTION_PATH = '/api/v1/payment/collection/';
const STATUS_PATH = '/api/v1/payment/status/';
/** Length limit of `narrative` is undocumented; KulmiPay documents 140 for `api_ref`, used here too. */
const NARRATIVE_MAX = 140;
/** KulmiPay's signature header is undocumented: both plausible names are accepted. */
const SIGNATURE_HEADERS = ['x-kulmipay-signature', 'x-signature'];

const idSchema = z.union([z.string().min(1), z.number()]);
const invoiceSchema = z.object({
  invoice_id: idSchema.nullish(),
  /** The legacy collection answer of the seeds has only `id`. */
  id: idSchema.nullish(),
  state: z.string(),
  value: z.union([z.string(), z.number()]).nullish(),
  /** The provider's fee: on top of the amount asked when the customer pays it (`CUSTOMER-PAYS`). */
  charges: z.union([z.string(), z.number()]).nullish(),
  account: z.string().nullish(),
  api_ref: z.string().nullish(),
  mpesa_reference: z.string().nullish(),
  failed_code: z.union([z.string(), z.number()]).nullish(),
  failed_reason: z.string().nullish(),
});
export type Invoice = z.infer<typeof invoiceSchema>;

/** KulmiPay documents decimal amounts as rounded up to a whole shilling; we do it ourselves so the prompt shows what we stored. */
export function roundUpToShilling(amount: number): number {
  // Cents first, so float noise (10.000000001) does not add a shilling.
  return Math.ceil(Math.round(amount * 100) / 100);
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

function parseInvoice(value: unknown): Invoice | undefined {
  const parsed = invoiceSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The invoice of a push or status answer (`{id, invoice, customer}`, `{invoice, meta}`); never the session's own `id`. */
function invoiceOfAnswer(body: unknown): Invoice | undefined {
  return parseInvoice(asRecord(body)?.['invoice']);
}

/** The invoice of a webhook: flat, or in KulmiPay's `{"topic":"collection_event","data":{…}}` envelope. */
function invoiceOfWebhook(body: unknown): Invoice | undefined {
  const record = asRecord(body);
  return parseInvoice(asRecord(record?.['data']) ?? record);
}

/** A money field ("10.00" or 10) as a number; undefined when absent or not a number. */
function money(field: string | number | null | undefined): number | undefined {
  const text = String(field ?? '').trim();
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined;
}

/**
 * What the customer paid (`value`), and of it the fee they may have paid on top (`charges`):
 * with `CUSTOMER-PAYS` the prompt asks for the amount plus the fee. Where the tariff is the
 * account's default (not sent with the push) either may hold; with `BUSINESS-PAYS` the fee comes
 * out of the merchant's side and `value` is the amount asked.
 */
function paidOf(invoice: Invoice, tariff: MobileTariff | undefined): { amount?: number; customerFee?: number } {
  const amount = money(invoice.value);
  const charges = money(invoice.charges) ?? 0;
  if (amount === undefined) return {};
  return charges > 0 && tariff !== 'BUSINESS-PAYS' ? { amount, customerFee: charges } : { amount };
}

function invoiceRef(invoice: Invoice): string | undefined {
  const ref = invoice.invoice_id ?? invoice.id;
  return ref === null || ref === undefined ? undefined : String(ref);
}

/**
 * An invoice's state in our words. Only COMPLETE and FAILED are final; anything else, even a state
 * we do not know, means ask again. `secrets` are taken out of the provider's failure text.
 */
export function statusOfInvoice(invoice: Invoice, tariff?: MobileTariff, secrets: readonly (string | undefined)[] = []): ProviderStatus {
  const echoed = invoice.api_ref ? { paymentId: invoice.api_ref } : {};
  switch (invoice.state.trim().toUpperCase()) {
    case 'PENDING':
    case 'PROCESSING':
    case 'RETRY':
      return { status: 'pending', ...echoed };
    case 'COMPLETE':
    case 'COMPLETED':
      return {
        status: 'succeeded',
        ...(invoice.mpesa_reference ? { receipt: invoice.mpesa_reference } : {}),
        ...paidOf(invoice, tariff),
        ...echoed,
      };
    case 'FAILED':
      return { ...failureOf(invoice, secrets), ...echoed };
    default:
      return { status: 'pending', ...echoed };
  }
}

/**
 * `failed_code` carries the Daraja result code ("1032"); without a usable one it is the provider's
 * failure. Its text is kept for the merchant (API, webhook) as Daraja's own is: without secrets.
 */
function failureOf(invoice: Invoice, secrets: readonly (string | undefined)[]): ProviderStatus {
  const reason = providerWords(cleanText(invoice.failed_reason ?? ''), secrets);
  const code = String(invoice.failed_code ?? '').trim();
  if (/^\d+$/.test(code) && Number(code) !== 0) {
    const mapped = statusFromResultCode(Number(code), reason || undefined);
    // A code Daraja's table does not count as a failure, under a FAILED state: trust the state.
    if (mapped.status === 'failed') return mapped;
  }
  return { status: 'failed', code: 'provider_error', message: reason || 'The payment failed without a result code.' };
}

/**
 * What a refusal said, for the merchant's eyes only (customers see our own words): DRF's
 * `{"detail"}`, `{"errors":[{"detail"}]}` or per-field lists, never an HTML page, never a secret.
 */
export function refusalMessage(label: string, status: number | undefined, body: unknown, secrets: readonly (string | undefined)[]): string {
  const detail = providerWords(errorDetail(body), secrets);
  return `${label} refused the request (HTTP ${status ?? 'error'})${detail ? `: ${detail}` : ''}`;
}

function errorDetail(body: unknown): string {
  const record = asRecord(body);
  if (!record) return '';
  const texts = (values: unknown[]) => values.filter((value): value is string => typeof value === 'string').map(cleanText);
  if (typeof record['detail'] === 'string') return cleanText(record['detail']);
  const errors = record['errors'];
  if (Array.isArray(errors)) return texts(errors.map((error) => asRecord(error)?.['detail'])).join('; ');
  return Object.entries(record)
    .filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]))
    .map(([field, messages]) => `${field}: ${texts(messages).join(' ')}`)
    .join('; ');
}

function cleanText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function header(input: CallbackInput, name: string): string | undefined {
  const value = input.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class IntaSendProvider implements Provider {
  readonly name: IntaSendFlavour;
  readonly signedCallbacks = false;
  private readonly label: string;
  private readonly baseUrl: string;
  /** The relay's secret callback path token (`hideCallbackToken`). */
  private callbackToken: string | undefined;

  constructor(private readonly options: IntaSendOptions) {
    if (!options.secretKey || !options.webhookChallenge) throw new Error(`${LABEL[options.flavour]} needs a secret key and a webhook challenge`);
    if (options.flavour === 'intasend' && !options.publishableKey) throw new Error('IntaSend needs a publishable key');
    this.name = options.flavour;
    this.label = LABEL[options.flavour];
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async requestPayment(request: PushRequest): Promise<PushResult> {
    const { path, headers, body } = this.pushRequest(request);
    let answer;
    try {
      answer = await requestJson({ method: 'POST', url: this.baseUrl + path, headers, body, ...this.timeout() });
    } catch (error) {
      if (!(error instanceof ProviderHttpError)) throw error;
      if (error.kind === 'refused') {
        const message = refusalMessage(this.label, error.status, error.body, this.secrets());
        if (error.status === 401 || error.status === 403) return { kind: 'refused', code: 'rejected', message: `${message} (check ${ENV_PREFIX[this.name]}_SECRET_KEY)`, setup: true };
        return { kind: 'refused', code: 'rejected', message };
      }
      // A 5xx that still names the invoice: the relay can ask about it instead of waiting for a webhook.
      const invoice = invoiceOfAnswer(error.body);
      const ref = invoice && invoiceRef(invoice);
      if (ref && error.kind === 'indeterminate') throw new ProviderHttpError(error.kind, error.message, error.status, undefined, error.retryAfterMs, ref);
      throw error;
    }
    const invoice = invoiceOfAnswer(answer.body);
    const ref = invoice && invoiceRef(invoice);
    // Accepted without a readable invoice: a prompt may be out, so never "refused"; the webhook's api_ref will tell.
    if (!ref) throw new ProviderHttpError('indeterminate', `${this.label} accepted the push but its answer names no invoice`, answer.status);
    return { kind: 'accepted', providerRef: ref };
  }

  async queryStatus(providerRef: string): Promise<ProviderStatus> {
    const intasend = this.name === 'intasend';
    const answer = await requestJson({
      method: 'POST',
      url: this.baseUrl + STATUS_PATH,
      headers: intasend ? { INTASEND_PUBLIC_API_KEY: this.options.publishableKey } : this.bearer(),
      body: intasend ? { public_key: this.options.publishableKey, invoice_id: providerRef } : { invoice_id: providerRef },
      ...this.timeout(),
    });
    const invoice = invoiceOfAnswer(answer.body);
    if (!invoice || invoiceRef(invoice) !== providerRef) {
      throw new ProviderHttpError('indeterminate', `${this.label}'s status answer is not about invoice ${providerRef}`, answer.status);
    }
    return statusOfInvoice(invoice, this.options.mobileTariff, this.secrets());
  }

  /**
   * What must never be kept from the provider's words (a failure or refusal text that echoes the
   * request, or the dashboard's settings): the keys, the webhook challenge, the callback token.
   */
  hideCallbackToken(token: string): void {
    this.callbackToken = token;
  }

  private secrets(): (string | undefined)[] {
    return [this.options.secretKey, this.options.publishableKey, this.options.webhookChallenge, this.callbackToken];
  }

  /**
   * A status query about an invoice nobody has: refused (401/403) when the credentials it carries
   * are wrong, "not found" when they are right. For KulmiPay that proves the secret key; IntaSend's
   * status endpoint takes the publishable key only, and no documented call proves its secret key
   * without sending a prompt: a push refused for it names INTASEND_SECRET_KEY. The webhook
   * challenge is proven by the first webhook.
   */
  async checkSettings(): Promise<string | undefined> {
    const key = this.name === 'intasend' ? 'INTASEND_PUBLISHABLE_KEY' : 'KULMIPAY_SECRET_KEY';
    try {
      await this.queryStatus(SETTINGS_CHECK_REF);
      return undefined;
    } catch (error) {
      return settingsProblem(error, `${this.label} refused ${key}`, this.baseUrl, { label: this.label, recognises: isDrfError });
    }
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    if (!this.verified(input)) return { kind: 'reject', reason: `${this.label} webhook challenge missing or wrong`, status: 401 };
    const topic = asRecord(input.body)?.['topic'];
    if (topic !== undefined && topic !== 'collection_event') return { kind: 'reject', reason: `not a collection event (${String(topic).slice(0, 40)})` };
    const invoice = invoiceOfWebhook(input.body);
    const ref = invoice && invoiceRef(invoice);
    if (!invoice || !ref) return { kind: 'reject', reason: `not a ${this.label} invoice event` };
    // The amount asked, to match a push whose answer was lost: net of the fee where the customer pays it.
    const paid = money(invoice.value);
    // In cents, as paysAmount() does: 128.01 less 0.01 is 127.99999999999999 in floating point.
    const amount = paid !== undefined && this.options.mobileTariff === 'CUSTOMER-PAYS' ? Math.round((paid - (money(invoice.charges) ?? 0)) * 100) / 100 : paid;
    const phone = invoice.account ?? '';
    return {
      kind: 'status',
      providerRef: ref,
      update: statusOfInvoice(invoice, this.options.mobileTariff, this.secrets()),
      ...(invoice.api_ref ? { paymentId: invoice.api_ref } : {}),
      ...(/^254[17]\d{8}$/.test(phone) && amount !== undefined && amount > 0 ? { match: { phone, amount } } : {}),
    };
  }

  /**
   * IntaSend documents the body's `challenge`; KulmiPay also documents an `X-Challenge` header and
   * an HMAC-SHA256 (hex) of the raw body. Its key is not stated: the challenge and the secret key
   * are both accepted. Any one that matches is enough.
   */
  private verified(input: CallbackInput): boolean {
    const expected = this.options.webhookChallenge;
    const body = asRecord(input.body);
    const inBody = [body?.['challenge'], asRecord(body?.['data'])?.['challenge']].filter((value): value is string => typeof value === 'string');
    if (inBody.some((given) => sameSecret(given, expected))) return true;
    if (this.name !== 'kulmipay') return false;
    const inHeader = header(input, 'x-challenge');
    if (inHeader !== undefined && sameSecret(inHeader, expected)) return true;
    const signatures = SIGNATURE_HEADERS.map((name) => header(input, name)?.trim().replace(/^sha256=/i, '').toLowerCase()).filter(
      (value): value is string => value !== undefined && value !== '',
    );
    if (signatures.length === 0) return false;
    const computed = [expected, this.options.secretKey].map((key) => createHmac('sha256', key).update(input.rawBody).digest('hex'));
    return signatures.some((given) => computed.some((hmac) => sameSecret(given, hmac)));
  }

  private pushRequest(request: PushRequest): { path: string; headers: Record<string, string>; body: Record<string, unknown> } {
    const wallet = this.options.walletId ? { wallet_id: this.options.walletId } : {};
    if (this.name === 'kulmipay') {
      return {
        path: STK_PUSH_PATH,
        headers: this.bearer(),
        body: {
          phone_number: request.phone,
          amount: roundUpToShilling(request.amount),
          api_ref: request.paymentId,
          ...wallet,
          // Their spelling.
          ...(this.options.mobileTariff ? { mobile_tarrif: this.options.mobileTariff } : {}),
        },
      };
    }
    const narrative = clip([request.reference, request.description].filter(Boolean).join(': '), NARRATIVE_MAX);
    return {
      path: this.options.legacyCollection ? LEGACY_COLLECTION_PATH : STK_PUSH_PATH,
      // The legacy endpoint of the seeds is authenticated by public_key alone: the secret key stays home.
      headers: this.options.legacyCollection ? {} : this.bearer(),
      body: {
        public_key: this.options.publishableKey,
        currency: 'KES',
        method: 'M-PESA',
        amount: request.amount,
        phone_number: request.phone,
        api_ref: request.paymentId,
        ...(narrative ? { narrative } : {}),
        ...wallet,
      },
    };
  }

  private bearer(): Record<string, string> {
    return { authorization: `Bearer ${this.options.secretKey}` };
  }

  private timeout(): { timeoutMs?: number } {
    return this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs };
  }
}

const isBoolean = (value: string) => /^(true|false|1|0|yes|no)$/i.test(value);
const isTrue = (value: string) => /^(true|1|yes)$/i.test(value);
const optional = (expects: string, valid?: (value: string) => boolean): SettingSpec => ({ expects, default: '', ...(valid ? { valid } : {}) });

/**
 * IntaSend from the environment. Besides the four names DESIGN.md fixes, optional:
 * `INTASEND_WALLET_ID` (wallet receiving the funds) and `INTASEND_LEGACY_COLLECTION=true` (push
 * through the seeds' legacy `/api/v1/payment/collection/` endpoint).
 */
export function intasendFromEnv(env: Env): IntaSendProvider {
  const s = readSettings(env, {
    INTASEND_BASE_URL: { expects: 'the IntaSend API URL (https://payment.intasend.com live, https://sandbox.intasend.com test)', default: 'https://sandbox.intasend.com', valid: isHttpUrl },
    INTASEND_PUBLISHABLE_KEY: { expects: 'the publishable key from the IntaSend dashboard (ISPubKey_…)' },
    INTASEND_SECRET_KEY: { expects: 'the secret key from the IntaSend dashboard (ISSecretKey_…)' },
    INTASEND_WEBHOOK_CHALLENGE: { expects: 'the challenge set with the webhook URL in the IntaSend dashboard (webhooks cannot be verified without it)' },
    INTASEND_WALLET_ID: optional('the wallet id that receives the funds, or nothing for the default wallet'),
    INTASEND_LEGACY_COLLECTION: { expects: 'true or false', default: 'false', valid: isBoolean },
  });
  return new IntaSendProvider({
    flavour: 'intasend',
    baseUrl: s.INTASEND_BASE_URL,
    publishableKey: s.INTASEND_PUBLISHABLE_KEY,
    secretKey: s.INTASEND_SECRET_KEY,
    webhookChallenge: s.INTASEND_WEBHOOK_CHALLENGE,
    legacyCollection: isTrue(s.INTASEND_LEGACY_COLLECTION),
    ...(s.INTASEND_WALLET_ID ? { walletId: s.INTASEND_WALLET_ID } : {}),
  });
}

/**
 * KulmiPay from the environment. `KULMIPAY_PUBLISHABLE_KEY` is read but optional: its push and
 * status calls use the secret key only. Optional extras: `KULMIPAY_WALLET_ID`, and
 * `KULMIPAY_MOBILE_TARIFF` (BUSINESS-PAYS or CUSTOMER-PAYS; the account default when unset).
 */
export function kulmipayFromEnv(env: Env): IntaSendProvider {
  const s = readSettings(env, {
    KULMIPAY_BASE_URL: { expects: 'the KulmiPay API URL (https://app.kulmipay.com live, https://sandbox.kulmipay.com test)', default: 'https://sandbox.kulmipay.com', valid: isHttpUrl },
    KULMIPAY_PUBLISHABLE_KEY: optional('the publishable key from the KulmiPay dashboard (not needed for STK push)'),
    KULMIPAY_SECRET_KEY: { expects: 'the secret key from the KulmiPay dashboard (ISSecretKey_…)' },
    KULMIPAY_WEBHOOK_CHALLENGE: { expects: 'the challenge set with the webhook URL in the KulmiPay dashboard (webhooks cannot be verified without it)' },
    KULMIPAY_WALLET_ID: optional('the wallet alias id that receives the funds, or nothing for the default KES wallet'),
    KULMIPAY_MOBILE_TARIFF: optional('BUSINESS-PAYS or CUSTOMER-PAYS', (value) => value === '' || value === 'BUSINESS-PAYS' || value === 'CUSTOMER-PAYS'),
  });
  return new IntaSendProvider({
    flavour: 'kulmipay',
    baseUrl: s.KULMIPAY_BASE_URL,
    publishableKey: s.KULMIPAY_PUBLISHABLE_KEY,
    secretKey: s.KULMIPAY_SECRET_KEY,
    webhookChallenge: s.KULMIPAY_WEBHOOK_CHALLENGE,
    ...(s.KULMIPAY_WALLET_ID ? { walletId: s.KULMIPAY_WALLET_ID } : {}),
    ...(s.KULMIPAY_MOBILE_TARIFF ? { mobileTariff: s.KULMIPAY_MOBILE_TARIFF as MobileTariff } : {}),
  });
}

/**
 * A refusal as IntaSend and KulmiPay (Django REST framework) word one: `{"detail": "…"}`, a list
 * of errors per field (`{"amount": ["…"]}`), or `{"errors": [...]}`.
 */
function isDrfError(body: unknown): boolean {
  const record = asRecord(body);
  return record !== undefined && (typeof record['detail'] === 'string' || Object.values(record).some(Array.isArray));
}
