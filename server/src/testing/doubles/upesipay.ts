/**
 * An UpesiPay double on 127.0.0.1, speaking the documented wire format (upesipay.com/docs:
 * "Initiate MPESA STK Push", "Get Transaction Status", "Payment Callback"). The outcome follows
 * from the phone number (`scenarioFor`); the simulated customer answers after `delayMs`, then the
 * status answer changes and the callback is POSTed.
 *
 * Where the documentation is silent the double makes a plain choice, each one a guess about the
 * real service: errors are `{success:false, message}`; an unknown status reference is 404; a
 * failed transaction's status carries no reason; a blocked phone is answered 403.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { deliver, RESULT_OF, scenarioFor, startHttpDouble, Timers, type DoubleScenario, type HttpDouble } from './http-double.js';

export interface UpesiPayDoubleOptions {
  authToken: string;
  channelId: number;
  /** How long the simulated customer takes to answer the prompt (default 100 ms). */
  delayMs?: number;
  /** How long the push's own answer takes (default at once): longer than `delayMs`, the customer pays before it comes. */
  pushAnswerDelayMs?: number;
  /**
   * UpesiPay's abuse protection: after this many successive failed or cancelled prompts to one
   * phone, pushes to that phone are refused (the real service: 10, for 24 h). Off by default.
   */
  blockAfterFailures?: number;
}

export interface UpesiPayTransaction {
  reference: string;
  checkoutRequestId: string;
  externalReference: string | undefined;
  /** As received: local `07…` / `01…`. */
  phone: string;
  amount: number;
  callbackUrl: string | undefined;
  scenario: DoubleScenario;
  status: 'QUEUED' | 'SUCCESS' | 'FAILED';
  receipt?: string;
  createdAt: Date;
}

export interface UpesiPayCallbackBody {
  forward_url: string;
  status: boolean;
  response: {
    Amount: number;
    CheckoutRequestID: string;
    ExternalReference: string;
    MerchantRequestID: string;
    MpesaReceiptNumber?: string;
    Phone: string;
    ResultCode: number;
    ResultDesc: string;
    Status: string;
  };
}

export interface UpesiPayDouble extends HttpDouble {
  /** STK prompts that reached a phone. */
  readonly prompts: number;
  /** Every push request received, accepted or not. */
  readonly pushes: { authorization: string | undefined; body: unknown }[];
  /** The `reference` of every status query. */
  readonly statusQueries: string[];
  /** Every callback POSTed, with the HTTP status the relay answered (undefined: no answer). */
  readonly callbacks: { body: UpesiPayCallbackBody; status: number | undefined }[];
  readonly transactions: UpesiPayTransaction[];
  /** The callback body UpesiPay sends for a transaction once it is final. */
  callbackBody(transaction: UpesiPayTransaction): UpesiPayCallbackBody;
}

const pushBodySchema = z.object({
  amount: z.number().int().positive(),
  phone_number: z.string(),
  channel_id: z.number().int(),
  provider: z.literal('m-pesa'),
  external_reference: z.string().optional(),
  customer_name: z.string().optional(),
  callback_url: z.string().optional(),
  credential_id: z.string().optional(),
});

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function code(length: number, first = ''): string {
  let out = first;
  for (const byte of randomBytes(length)) if (out.length < length) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return out;
}

export async function startUpesiPayDouble(options: UpesiPayDoubleOptions): Promise<UpesiPayDouble> {
  const delayMs = options.delayMs ?? 100;
  const timers = new Timers();
  const transactions: UpesiPayTransaction[] = [];
  const pushes: UpesiPayDouble['pushes'] = [];
  const statusQueries: string[] = [];
  const callbacks: UpesiPayDouble['callbacks'] = [];
  const successiveFailures = new Map<string, number>();
  let prompts = 0;

  const callbackBody = (tx: UpesiPayTransaction): UpesiPayCallbackBody => {
    const result = RESULT_OF[tx.scenario as keyof typeof RESULT_OF];
    return {
      forward_url: '',
      status: result.code === 0,
      response: {
        Amount: tx.amount,
        CheckoutRequestID: tx.checkoutRequestId,
        ExternalReference: tx.externalReference ?? '',
        MerchantRequestID: `${tx.reference.slice(0, 4)}-${tx.createdAt.getTime()}-1`,
        ...(tx.receipt ? { MpesaReceiptNumber: tx.receipt } : {}),
        Phone: `+254${tx.phone.slice(1)}`,
        ResultCode: result.code,
        ResultDesc: result.desc,
        Status: result.code === 0 ? 'Success' : 'Failed',
      },
    };
  };

  const sendCallback = async (tx: UpesiPayTransaction) => {
    if (!tx.callbackUrl) return;
    const body = callbackBody(tx);
    callbacks.push({ body, status: await deliver(tx.callbackUrl, body) });
  };

  /** The customer answers: the status changes first, then UpesiPay calls back. */
  const settle = (tx: UpesiPayTransaction) => {
    const result = RESULT_OF[tx.scenario as keyof typeof RESULT_OF];
    tx.status = result.code === 0 ? 'SUCCESS' : 'FAILED';
    if (result.code === 0) tx.receipt = code(10, 'S');
    successiveFailures.set(tx.phone, result.code === 0 ? 0 : (successiveFailures.get(tx.phone) ?? 0) + 1);
    if (tx.scenario === 'silent') return;
    void sendCallback(tx);
    if (tx.scenario === 'twice') timers.after(100, () => sendCallback(tx));
  };

  const double = await startHttpDouble((app) => {
    const authorized = (header: string | undefined) => header === `Basic ${options.authToken}`;

    app.post('/api/v2/payments', async (request, reply) => {
      pushes.push({ authorization: request.headers.authorization, body: request.body });
      if (!authorized(request.headers.authorization)) return reply.code(401).send({ success: false, message: 'Invalid authentication token' });
      const parsed = pushBodySchema.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ success: false, message: 'Invalid request', errors: parsed.error.issues.map((i) => i.path.join('.')) });
      const body = parsed.data;
      if (!/^0[17]\d{8}$/.test(body.phone_number)) return reply.code(400).send({ success: false, message: 'Invalid phone number, use the format 07XXXXXXXX' });
      if (body.channel_id !== options.channelId) return reply.code(400).send({ success: false, message: 'Payment channel not found' });
      const scenario = scenarioFor(body.phone_number);
      if (scenario === 'throttled') return reply.code(429).header('retry-after', '1').send({ success: false, message: 'Too many requests' });
      if (options.blockAfterFailures !== undefined && (successiveFailures.get(body.phone_number) ?? 0) >= options.blockAfterFailures) {
        return reply.code(403).send({ success: false, message: 'This phone number is blocked from receiving STK requests for 24 hours after repeated failed requests' });
      }
      const tx: UpesiPayTransaction = {
        reference: code(10),
        checkoutRequestId: `ws_CO_${Date.now()}${randomBytes(4).toString('hex')}`,
        externalReference: body.external_reference,
        phone: body.phone_number,
        amount: body.amount,
        callbackUrl: body.callback_url || undefined,
        scenario,
        status: 'QUEUED',
        createdAt: new Date(),
      };
      transactions.push(tx);
      prompts += 1;
      timers.after(delayMs, () => settle(tx));
      if (options.pushAnswerDelayMs) await new Promise((resolve) => setTimeout(resolve, options.pushAnswerDelayMs));
      // The prompt went out, but the answer is lost in an error.
      if (scenario === 'error_but_delivered') return reply.code(500).send({ success: false, message: 'Server Error' });
      return reply.code(201).send({ success: true, status: 'QUEUED', reference: tx.reference, CheckoutRequestID: tx.checkoutRequestId });
    });

    app.get('/api/v2/transaction-status', async (request, reply) => {
      if (!authorized(request.headers.authorization)) return reply.code(401).send({ success: false, message: 'Invalid authentication token' });
      const reference = String((request.query as { reference?: unknown }).reference ?? '');
      statusQueries.push(reference);
      // The reference from the push answer, or the M-Pesa code of the transaction (as documented).
      const tx = transactions.find((t) => t.reference === reference || (t.receipt !== undefined && t.receipt === reference));
      if (!tx) return reply.code(404).send({ success: false, message: 'Transaction not found' });
      return {
        transaction_date: tx.createdAt.toISOString(),
        provider: 'm-pesa',
        success: true,
        merchant: 'Demo shop',
        payment_reference: '',
        third_party_reference: tx.receipt ?? '',
        status: tx.status,
        reference: tx.reference,
        CheckoutRequestID: tx.checkoutRequestId,
        provider_reference: tx.receipt ?? '',
      };
    });
  });

  return {
    ...double,
    get prompts() {
      return prompts;
    },
    pushes,
    statusQueries,
    callbacks,
    transactions,
    callbackBody,
    async close() {
      timers.clear();
      await double.close();
    },
  };
}
