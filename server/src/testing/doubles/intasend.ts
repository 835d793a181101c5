/**
 * A double of IntaSend, and of KulmiPay (the same API under another name), on 127.0.0.1: the push
 * endpoints (current Bearer one and the seeds' legacy `collection/`), the status endpoint, DRF-style
 * errors, and webhooks to `webhookUrl` on every state change (PENDING, PROCESSING, final) with the
 * challenge: in the body, or for KulmiPay in an `X-Challenge` header or an HMAC-SHA256 of the raw
 * body keyed by the challenge, flat or in the `{topic, data}` envelope. The outcome follows from
 * the phone number (`scenarioFor`).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RESULT_OF, scenarioFor, startHttpDouble, Timers, type DoubleScenario, type HttpDouble } from './http-double.js';

export interface IntaSendDoubleOptions {
  flavour: 'intasend' | 'kulmipay';
  publishableKey: string;
  secretKey: string;
  challenge: string;
  /** Where webhooks go (the relay's callback URL); none are sent while unset. */
  webhookUrl?: string;
  /** Time from the push to the final state (PENDING webhook at 20 %, PROCESSING at 50 %). Default 150 ms. */
  delayMs?: number;
  /** KulmiPay: wrap webhooks in `{"topic":"collection_event","data":{…}}`. */
  envelope?: boolean;
  /** How a webhook proves itself: `challenge` in the body (default), `X-Challenge` header, or HMAC header. */
  proof?: 'body' | 'header' | 'hmac';
  /** Header carrying the HMAC (default `X-KulmiPay-Signature`). */
  signatureHeader?: string;
  /** Smallest amount accepted (KulmiPay's older page: KES 10). Default 10 for KulmiPay, 1 for IntaSend. */
  minAmount?: number;
  /**
   * The provider's fee on a collection, in percent of the amount (default 0). Who pays it follows
   * the push's `mobile_tarrif`, else `accountTariff`: with `CUSTOMER-PAYS` the prompt (and the
   * invoice's `value`) is the amount plus the fee; with `BUSINESS-PAYS` the fee comes out of
   * `net_amount`.
   */
  feePercent?: number;
  /** The account's default tariff, for pushes that send none (default `BUSINESS-PAYS`). */
  accountTariff?: 'BUSINESS-PAYS' | 'CUSTOMER-PAYS';
}

export interface DoubleInvoice {
  invoice_id: string;
  state: 'PENDING' | 'PROCESSING' | 'COMPLETE' | 'FAILED';
  provider: 'M-PESA';
  charges: string;
  net_amount: string;
  currency: 'KES';
  value: string;
  account: string;
  api_ref: string | null;
  mpesa_reference: string | null;
  host: string;
  retry_count: number;
  failed_reason: string | null;
  failed_code: string | null;
  failed_code_link: string | null;
  created_at: string;
  updated_at: string;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface DeliveredWebhook {
  state: DoubleInvoice['state'];
  invoiceId: string;
  /** The relay's answer (undefined when it could not be reached). */
  status: number | undefined;
  answer: string;
}

export interface IntaSendDouble extends HttpDouble {
  webhookUrl: string | undefined;
  /** Prompts "delivered" to phones. */
  readonly prompts: number;
  readonly requests: ReceivedRequest[];
  readonly webhooks: DeliveredWebhook[];
  invoices: Map<string, DoubleInvoice>;
  /** The webhook body and headers the double would send for an invoice, for forging variants in tests. */
  webhookFor(invoice: DoubleInvoice): { body: string; headers: Record<string, string> };
}

const INVOICE_ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

function randomCode(length: number): string {
  return [...randomBytes(length)].map((byte) => INVOICE_ID_ALPHABET[byte % INVOICE_ID_ALPHABET.length]).join('');
}

type Fields = Record<string, unknown>;

export async function startIntaSendDouble(options: IntaSendDoubleOptions): Promise<IntaSendDouble> {
  const kulmipay = options.flavour === 'kulmipay';
  const delayMs = options.delayMs ?? 150;
  const minAmount = options.minAmount ?? (kulmipay ? 10 : 1);
  const timers = new Timers();
  const invoices = new Map<string, DoubleInvoice>();
  const requests: ReceivedRequest[] = [];
  const webhooks: DeliveredWebhook[] = [];
  let prompts = 0;
  let host = '';

  const bearerOk = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const auth = request.headers.authorization;
    if (auth === undefined) return deny(reply, 'Authentication credentials were not provided.');
    if (auth !== `Bearer ${options.secretKey}`) return deny(reply, 'Invalid api token');
    return true;
  };
  const deny = (reply: FastifyReply, detail: string): false => {
    void reply.code(401).send({ detail });
    return false;
  };
  const fieldErrors = (reply: FastifyReply, errors: Record<string, string[]>): false => {
    void reply.code(400).send(errors);
    return false;
  };

  /** DRF-style validation of a push body; answers 400 and returns false when it fails. */
  const validPush = (body: Fields, reply: FastifyReply, needsPublicKey: boolean): boolean => {
    const errors: Record<string, string[]> = {};
    const required = ['phone_number', 'amount', ...(needsPublicKey ? ['public_key', 'currency', 'method'] : [])];
    for (const field of required) {
      if (body[field] === undefined || body[field] === null) errors[field] = ['This field is required.'];
      else if (body[field] === '') errors[field] = ['This field may not be blank.'];
    }
    if (!errors['phone_number'] && !/^254\d{9}$/.test(String(body['phone_number']))) errors['phone_number'] = ['Enter a valid phone number in the format 254XXXXXXXXX.'];
    const amount = Number(body['amount']);
    if (!errors['amount'] && !Number.isFinite(amount)) errors['amount'] = ['A valid number is required.'];
    else if (!errors['amount'] && amount < minAmount) errors['amount'] = [`Ensure this value is greater than or equal to ${minAmount}.`];
    if (needsPublicKey && !errors['public_key'] && body['public_key'] !== options.publishableKey) errors['public_key'] = ['Invalid public key'];
    if (needsPublicKey && !errors['currency'] && body['currency'] !== 'KES') errors['currency'] = [`"${String(body['currency'])}" is not a valid choice.`];
    const tariff = body['mobile_tarrif'];
    if (tariff !== undefined && tariff !== 'BUSINESS-PAYS' && tariff !== 'CUSTOMER-PAYS') errors['mobile_tarrif'] = [`"${String(tariff)}" is not a valid choice.`];
    return Object.keys(errors).length === 0 || fieldErrors(reply, errors);
  };

  const double = await startHttpDouble((app) => {
    app.addHook('preHandler', async (request) => {
      requests.push({ method: request.method, path: request.url, headers: { ...request.headers }, body: request.body });
    });

    const push = (needsPublicKey: boolean, needsBearer: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
      if (needsBearer && !bearerOk(request, reply)) return reply;
      const body = (request.body ?? {}) as Fields;
      if (!validPush(body, reply, needsPublicKey)) return reply;
      const scenario = scenarioFor(String(body['phone_number']));
      if (scenario === 'throttled') return reply.code(429).header('retry-after', '1').send({ detail: 'Request was throttled. Expected available in 1 second.' });
      const invoice = createInvoice(body, scenario);
      if (scenario === 'error_but_delivered') {
        // The invoice exists and the prompt went out; only the answer is lost.
        return reply.code(500).type('text/html').send('<h1>Server Error (500)</h1>');
      }
      return reply.code(kulmipay ? 201 : 200).send({
        id: randomUUID(),
        invoice,
        customer: { customer_id: randomCode(7), phone_number: invoice.account, email: null, first_name: null, last_name: null, country: null, zipcode: null, provider: 'M-PESA', created_at: invoice.created_at, updated_at: invoice.updated_at },
        payment_link: null,
        customer_comment: null,
        refundable: false,
        created_at: invoice.created_at,
        updated_at: invoice.updated_at,
      });
    };
    app.post('/api/v1/payment/mpesa-stk-push/', push(!kulmipay, true));
    // The seeds' legacy endpoint: public_key in the body is the only credential.
    app.post('/api/v1/payment/collection/', push(true, false));

    app.post('/api/v1/payment/status/', async (request, reply) => {
      const body = (request.body ?? {}) as Fields;
      if (kulmipay) {
        if (!bearerOk(request, reply)) return reply;
      } else {
        const given = request.headers['intasend_public_api_key'] ?? body['public_key'];
        if (given === undefined) return deny(reply, 'Authentication credentials were not provided.');
        if (given !== options.publishableKey) return deny(reply, 'Invalid public key');
      }
      if (!body['invoice_id']) return fieldErrors(reply, { invoice_id: ['This field is required.'] });
      const invoice = invoices.get(String(body['invoice_id']));
      if (!invoice) return reply.code(404).send({ detail: 'Not found.' });
      return { invoice, meta: { id: randomUUID(), customer: { phone_number: invoice.account }, customer_comment: null, created_at: invoice.created_at, updated_at: invoice.updated_at } };
    });
  });
  host = double.url;

  function createInvoice(body: Fields, scenario: DoubleScenario): DoubleInvoice {
    const now = new Date().toISOString();
    const asked = Math.ceil(Number(body['amount']));
    const fee = Math.round(asked * (options.feePercent ?? 0)) / 100;
    const customerPays = (body['mobile_tarrif'] ?? options.accountTariff) === 'CUSTOMER-PAYS';
    const value = customerPays ? asked + fee : asked;
    const invoice: DoubleInvoice = {
      invoice_id: randomCode(7),
      state: 'PENDING',
      provider: 'M-PESA',
      charges: fee.toFixed(2),
      net_amount: (customerPays ? asked : asked - fee).toFixed(2),
      currency: 'KES',
      value: value.toFixed(2),
      account: String(body['phone_number']),
      api_ref: typeof body['api_ref'] === 'string' ? body['api_ref'] : kulmipay ? 'MPesa Express' : null,
      mpesa_reference: null,
      host,
      retry_count: 0,
      failed_reason: null,
      failed_code: null,
      failed_code_link: null,
      created_at: now,
      updated_at: now,
    };
    invoices.set(invoice.invoice_id, invoice);
    prompts += 1;
    const silent = scenario === 'silent';
    if (!silent) timers.after(delayMs * 0.2, () => send(invoice));
    timers.after(delayMs * 0.5, () => moveTo(invoice, 'PROCESSING', !silent));
    timers.after(delayMs, () => finish(invoice, scenario));
    return invoice;
  }

  function moveTo(invoice: DoubleInvoice, state: DoubleInvoice['state'], notify: boolean): Promise<void> | void {
    invoice.state = state;
    invoice.updated_at = new Date().toISOString();
    if (notify) return send(invoice);
  }

  function finish(invoice: DoubleInvoice, scenario: DoubleScenario): void {
    if (scenario === 'throttled') return;
    const result = RESULT_OF[scenario];
    if (result.code === 0) {
      invoice.mpesa_reference = `T${randomCode(9)}`;
    } else {
      invoice.failed_code = String(result.code);
      invoice.failed_reason = result.desc;
      invoice.failed_code_link = 'https://intasend.com/troubleshooting';
    }
    void moveTo(invoice, result.code === 0 ? 'COMPLETE' : 'FAILED', scenario !== 'silent');
    if (scenario === 'twice') timers.after(100, () => send(invoice));
  }

  function webhookFor(invoice: DoubleInvoice): { body: string; headers: Record<string, string> } {
    const proof = options.proof ?? 'body';
    const flat = proof === 'body' ? { ...invoice, challenge: options.challenge } : { ...invoice };
    const body = JSON.stringify(options.envelope ? { topic: 'collection_event', data: flat } : flat);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (proof === 'header') headers['x-challenge'] = options.challenge;
    if (proof === 'hmac') headers[options.signatureHeader ?? 'x-kulmipay-signature'] = createHmac('sha256', options.challenge).update(body).digest('hex');
    return { body, headers };
  }

  /** Webhooks of one invoice leave one after another, each with the invoice as it was when its state changed. */
  const queues = new Map<string, Promise<void>>();
  function send(invoice: DoubleInvoice): Promise<void> {
    const snapshot = { ...invoice };
    const queued = (queues.get(invoice.invoice_id) ?? Promise.resolve()).then(() => deliverWebhook(snapshot));
    queues.set(invoice.invoice_id, queued);
    return queued;
  }

  async function deliverWebhook(invoice: DoubleInvoice): Promise<void> {
    const url = result.webhookUrl;
    if (!url) return;
    const { body, headers } = webhookFor(invoice);
    const record: DeliveredWebhook = { state: invoice.state, invoiceId: invoice.invoice_id, status: undefined, answer: '' };
    webhooks.push(record);
    try {
      const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      record.answer = await response.text();
      record.status = response.status;
    } catch {
      // Unreachable relay: recorded with no status, as a provider would log a failed delivery.
    }
  }

  const result: IntaSendDouble = {
    ...double,
    webhookUrl: options.webhookUrl,
    get prompts() {
      return prompts;
    },
    requests,
    webhooks,
    invoices,
    webhookFor,
    async close() {
      timers.clear();
      await double.close();
    },
  };
  return result;
}
