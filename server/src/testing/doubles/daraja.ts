/**
 * A Safaricom Daraja double in Daraja's wire format: OAuth (Basic credentials, expiring tokens),
 * M-Pesa Express push (password, Kenya-time timestamp and field limits checked; paybill or till)
 * and status query, and the `stkCallback` POSTed to the CallBackURL after the customer "answers".
 * The outcome follows from the phone number (`scenarioFor`).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { kenyaTimestamp, parseKenyaTimestamp } from '../../providers/mpesa-time.js';
import { deliver, RESULT_OF, scenarioFor, startHttpDouble, Timers, type DoubleScenario, type HttpDouble } from './http-double.js';

export interface DarajaDoubleOptions {
  consumerKey: string;
  consumerSecret: string;
  /** BusinessShortCode: the paybill, or the store number of a till. */
  shortcode: string;
  passkey: string;
  /** The till number when the shortcode is a store number (CustomerBuyGoodsOnline). */
  till?: string;
  /**
   * How long the customer takes to answer; the callback comes then. Default 150 ms. `'on-demand'`:
   * the customer answers only when `answer()` is called (benchmarks time the callback from there).
   */
  delayMs?: number | 'on-demand';
  /** Lifetime of issued tokens. Default 3599 s, as Daraja. */
  tokenTtlSeconds?: number;
  /** How far the push timestamp may be from the double's clock. Default 5 minutes. */
  timestampSkewMs?: number;
  /** Keep every request for `requests` (default true); benchmarks that send thousands do not. */
  keepRequests?: boolean;
  /**
   * How long the status query goes on saying "being processed" after the customer answered (and
   * the callback went): Daraja's query trails its callback. Default 0.
   */
  queryLagMs?: number;
}

export interface DarajaRequestRecord {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

interface Prompt {
  merchantRequestId: string;
  checkoutRequestId: string;
  scenario: DoubleScenario;
  /** When the customer answers: the query says "being processed" until then. */
  answeredAt: number;
  push: Record<string, unknown>;
}

export interface DarajaDouble extends HttpDouble {
  /** Prompts that reached a phone. */
  readonly prompts: number;
  /** Access tokens issued. */
  readonly tokensIssued: number;
  /** Every request, in order (token requests included). */
  readonly requests: DarajaRequestRecord[];
  /** Push request bodies, accepted or not. */
  pushes(): Record<string, unknown>[];
  /** Makes every token issued so far invalid, as when Daraja expires them early. */
  expireTokens(): void;
  /**
   * With `delayMs: 'on-demand'`: the customer on `phone` (2547…) answers their oldest open prompt
   * now, and the callback is POSTed. Resolves when the relay has answered it, with the time the
   * callback was sent (`performance.timeOrigin + performance.now()`, ms) and the relay's HTTP status.
   */
  answer(phone: string): Promise<{ sentAt: number; status: number | undefined }>;
}

const PHONE = /^254[17]\d{8}$/;
const PUSH_ACCEPTED = 'Success. Request accepted for processing';

function fail(reply: FastifyReply, status: number, errorCode: string, errorMessage: string) {
  return reply.code(status).send({ requestId: `${randomBytes(4).toString('hex')}-${Date.now()}`, errorCode, errorMessage });
}

/** Ten characters like a real M-Pesa receipt, stable for a request. */
function receiptFor(checkoutRequestId: string): string {
  return `S${createHash('sha256').update(checkoutRequestId).digest('hex').slice(0, 9).toUpperCase()}`;
}

/** The relay's settings for its Daraja adapter to talk to the double at `url` with `keys`. */
export function darajaSettings(url: string, keys: Pick<DarajaDoubleOptions, 'consumerKey' | 'consumerSecret' | 'shortcode' | 'passkey'>): Record<string, string> {
  return {
    DARAJA_BASE_URL: url,
    DARAJA_CONSUMER_KEY: keys.consumerKey,
    DARAJA_CONSUMER_SECRET: keys.consumerSecret,
    DARAJA_SHORTCODE: keys.shortcode,
    DARAJA_PASSKEY: keys.passkey,
  };
}

export async function startDarajaDouble(options: DarajaDoubleOptions): Promise<DarajaDouble> {
  const onDemand = options.delayMs === 'on-demand';
  const delayMs = options.delayMs === 'on-demand' ? 0 : (options.delayMs ?? 150);
  /** Prompts waiting for `answer()`, oldest first, by phone. */
  const waiting = new Map<string, Prompt[]>();
  const ttlMs = (options.tokenTtlSeconds ?? 3599) * 1000;
  const skewMs = options.timestampSkewMs ?? 5 * 60_000;
  const tokens = new Map<string, number>();
  const prompts = new Map<string, Prompt>();
  const requests: DarajaRequestRecord[] = [];
  const timers = new Timers();
  let promptCount = 0;
  let tokensIssued = 0;

  const expectedPassword = (timestamp: string) => Buffer.from(`${options.shortcode}${options.passkey}${timestamp}`).toString('base64');

  /** Answers the request itself (and returns false) when the bearer token is not a live one. */
  function authorized(request: FastifyRequest, reply: FastifyReply): boolean {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt !== undefined && Date.now() < expiresAt) return true;
    void fail(reply, 404, '404.001.03', 'Invalid Access Token');
    return false;
  }

  /** The checks the push and the query share; answers and returns false on the first failure. */
  function credentialsValid(body: Record<string, unknown>, reply: FastifyReply): boolean {
    if (body['BusinessShortCode'] !== options.shortcode && body['BusinessShortCode'] !== Number(options.shortcode)) {
      void fail(reply, 400, '400.002.02', 'Bad Request - Invalid BusinessShortCode');
      return false;
    }
    const timestamp = String(body['Timestamp'] ?? '');
    const at = parseKenyaTimestamp(timestamp);
    if (at === undefined || Math.abs(at - Date.now()) > skewMs) {
      void fail(reply, 400, '400.002.02', 'Bad Request - Invalid Timestamp');
      return false;
    }
    if (body['Password'] !== expectedPassword(timestamp)) {
      void fail(reply, 500, '500.001.1001', 'Wrong credentials');
      return false;
    }
    return true;
  }

  /** The first field Daraja would refuse, or undefined. */
  function invalidPushField(body: Record<string, unknown>): string | undefined {
    const till = body['TransactionType'] === 'CustomerBuyGoodsOnline';
    if (!till && body['TransactionType'] !== 'CustomerPayBillOnline') return 'TransactionType';
    if (!Number.isInteger(body['Amount']) || (body['Amount'] as number) < 1) return 'Amount';
    if (!PHONE.test(String(body['PartyA'] ?? ''))) return 'PartyA';
    if (!PHONE.test(String(body['PhoneNumber'] ?? ''))) return 'PhoneNumber';
    if (String(body['PartyB']) !== (till ? options.till : options.shortcode)) return 'PartyB';
    if (typeof body['CallBackURL'] !== 'string' || !/^https?:\/\//.test(body['CallBackURL'])) return 'CallBackURL';
    const reference = body['AccountReference'];
    if (typeof reference !== 'string' || reference.length === 0 || reference.length > 12) return 'AccountReference';
    const desc = body['TransactionDesc'];
    if (typeof desc !== 'string' || desc.length === 0 || desc.length > 13) return 'TransactionDesc';
    return undefined;
  }

  function callbackBody(prompt: Prompt) {
    const push = prompt.push;
    const result = RESULT_OF[prompt.scenario as Exclude<DoubleScenario, 'throttled'>];
    const stkCallback: Record<string, unknown> = {
      MerchantRequestID: prompt.merchantRequestId,
      CheckoutRequestID: prompt.checkoutRequestId,
      ResultCode: result.code,
      ResultDesc: result.desc,
    };
    if (result.code === 0) {
      stkCallback['CallbackMetadata'] = {
        Item: [
          { Name: 'Amount', Value: push['Amount'] },
          { Name: 'MpesaReceiptNumber', Value: receiptFor(prompt.checkoutRequestId) },
          // Daraja sends Balance without a value.
          { Name: 'Balance' },
          { Name: 'TransactionDate', Value: Number(kenyaTimestamp(prompt.answeredAt)) },
          { Name: 'PhoneNumber', Value: Number(push['PhoneNumber']) },
        ],
      };
    }
    return { Body: { stkCallback } };
  }

  /** The prompt reaches the phone; the customer answers after `delayMs`. */
  function deliverPrompt(push: Record<string, unknown>, scenario: DoubleScenario): Prompt {
    promptCount++;
    const prompt: Prompt = {
      merchantRequestId: `${10000 + promptCount}-${randomBytes(4).readUInt32BE()}-1`,
      checkoutRequestId: `ws_CO_${kenyaTimestamp(Date.now())}${randomBytes(5).toString('hex')}`,
      scenario,
      answeredAt: onDemand ? Number.POSITIVE_INFINITY : Date.now() + delayMs,
      push,
    };
    prompts.set(prompt.checkoutRequestId, prompt);
    const phone = String(push['PhoneNumber']);
    if (onDemand) {
      waiting.set(phone, [...(waiting.get(phone) ?? []), prompt]);
      return prompt;
    }
    const url = String(push['CallBackURL']);
    const body = callbackBody(prompt);
    if (scenario !== 'silent') timers.after(delayMs, () => deliver(url, body));
    if (scenario === 'twice') timers.after(delayMs + 150, () => deliver(url, body));
    return prompt;
  }

  const double = await startHttpDouble((app) => {
    app.addHook('preHandler', async (request) => {
      if (options.keepRequests === false) return;
      requests.push({
        method: request.method,
        path: request.url.split('?')[0] ?? request.url,
        authorization: request.headers.authorization,
        body: (request.body ?? {}) as Record<string, unknown>,
      });
    });

    app.get('/oauth/v1/generate', async (request, reply) => {
      if ((request.query as Record<string, unknown>)['grant_type'] !== 'client_credentials') {
        return fail(reply, 400, '400.008.02', 'Invalid grant type passed');
      }
      const expected = `Basic ${Buffer.from(`${options.consumerKey}:${options.consumerSecret}`).toString('base64')}`;
      if (request.headers.authorization !== expected) return fail(reply, 400, '400.008.01', 'Invalid Authentication passed');
      const token = randomBytes(21).toString('base64url');
      tokens.set(token, Date.now() + ttlMs);
      tokensIssued++;
      return { access_token: token, expires_in: String(ttlMs / 1000) };
    });

    app.post('/mpesa/stkpush/v1/processrequest', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const field = invalidPushField(body);
      if (field) return fail(reply, 400, '400.002.02', `Bad Request - Invalid ${field}`);
      if (!credentialsValid(body, reply)) return reply;
      const scenario = scenarioFor(String(body['PhoneNumber']));
      if (scenario === 'throttled') return fail(reply, 500, '500.003.02', 'Error Occured: Spike Arrest Violation');
      const prompt = deliverPrompt(body, scenario);
      if (scenario === 'error_but_delivered') return fail(reply, 500, '500.003.1001', 'Internal Server Error');
      return {
        MerchantRequestID: prompt.merchantRequestId,
        CheckoutRequestID: prompt.checkoutRequestId,
        ResponseCode: '0',
        ResponseDescription: PUSH_ACCEPTED,
        CustomerMessage: PUSH_ACCEPTED,
      };
    });

    app.post('/mpesa/stkpushquery/v1/query', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (!credentialsValid(body, reply)) return reply;
      const prompt = prompts.get(String(body['CheckoutRequestID'] ?? ''));
      if (!prompt) return fail(reply, 400, '400.002.02', 'Bad Request - Invalid CheckoutRequestID');
      if (Date.now() < prompt.answeredAt + (options.queryLagMs ?? 0)) return fail(reply, 500, '500.001.1001', 'The transaction is being processed');
      const result = RESULT_OF[prompt.scenario as Exclude<DoubleScenario, 'throttled'>];
      return {
        ResponseCode: '0',
        ResponseDescription: 'The service request has been accepted successsfully',
        MerchantRequestID: prompt.merchantRequestId,
        CheckoutRequestID: prompt.checkoutRequestId,
        ResultCode: String(result.code),
        ResultDesc: result.desc,
      };
    });
  });

  return {
    ...double,
    get prompts() {
      return promptCount;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    requests,
    pushes: () => requests.filter((r) => r.path === '/mpesa/stkpush/v1/processrequest').map((r) => r.body),
    expireTokens() {
      tokens.clear();
    },
    async answer(phone) {
      const prompt = waiting.get(phone)?.shift();
      if (!prompt) throw new Error(`no open prompt on ${phone}`);
      prompt.answeredAt = Date.now();
      const body = callbackBody(prompt);
      const sentAt = performance.timeOrigin + performance.now();
      const status = await deliver(String(prompt.push['CallBackURL']), body);
      return { sentAt, status };
    },
    async close() {
      timers.clear();
      await double.close();
    },
  };
}
