/**
 * Text that one database stores and the other refuses (PostgreSQL has no NUL in text), or that
 * neither stores as it came (an unpaired surrogate): every route that takes it from outside
 * answers 400 naming the field, or 404 for an id that cannot name a payment, on both databases,
 * and nothing stored is harmed.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { DarajaProvider } from '../providers/daraja.js';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../testing/postgres.js';
import { startRelay, type StartedRelay, type StartRelayOptions } from '../testing/start-relay.js';

const pgReady = await requirePostgres();
const databases: [string, () => StartRelayOptions & { schema?: string }][] = [
  ['SQLite', () => ({})],
  ...(pgReady ? [['PostgreSQL', () => ({ databaseUrl: TEST_DATABASE_URL, postgresSchema: freshSchema() })] as [string, () => StartRelayOptions]] : []),
];

let relay: StartedRelay | undefined;
let schema: string | undefined;
afterEach(async () => {
  await relay?.close();
  if (schema) await dropSchema(schema);
  relay = undefined;
  schema = undefined;
});

const TOKEN = 'odd-input-callback-token-0123';

describe.each(databases)('odd text from outside, on %s', (_name, options) => {
  async function start(): Promise<StartedRelay> {
    const chosen = options();
    schema = chosen.postgresSchema;
    relay = await startRelay({ ...chosen, sandboxDelayMs: 60_000, reconcileTickMs: 60_000, callbackToken: TOKEN });
    return relay;
  }

  it('answers 400 naming the field for a description with a control character or an unpaired surrogate, and stores nothing', async () => {
    const r = await start();
    const secret = r.app.merchants.byId('demo')!.secretKeys[0]!;
    for (const description of ['Order\u0000 9', 'Order\u0007 9', 'x\ud800y']) {
      const answer = await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149', description } });
      expect(answer.statusCode, JSON.stringify(description)).toBe(400);
      expect(answer.json().error.details).toEqual([{ field: 'description', message: 'must be plain text, without control characters' }]);
    }
    // Ordinary text still goes through, accents, emoji and a line break included.
    const fine = await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149', description: 'Unga wa ngano, 2 kg 🌾\nasante' } });
    expect(fine.statusCode).toBe(201);
    const list = await r.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${secret}` } });
    expect(list.json().data.map((p: { description: string }) => p.description)).toEqual(['Unga wa ngano, 2 kg 🌾\nasante']);
  });

  it("answers 400 naming the token for a signed token whose reference or description is not plain text, and finds a token's plain-text reference", async () => {
    const r = await start();
    const secret = r.app.merchants.byId('demo')!.secretKeys[0]!;
    const signed = (claims: Record<string, unknown>) => {
      const payload = Buffer.from(JSON.stringify({ merchant: 'demo', amount: 250, reference: 'INV-9', expiresAt: Math.floor(Date.now() / 1000) + 600, ...claims })).toString('base64url');
      return `ct1.${payload}.${createHmac('sha256', secret).update(`ct1.${payload}`).digest('base64url')}`;
    };
    for (const claims of [{ reference: 'INV\u0000 9' }, { description: 'Flour\u0000' }, { reference: 'x\ud800y' }]) {
      const answer = await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149', token: signed(claims) } });
      expect(answer.statusCode, JSON.stringify(claims)).toBe(400);
      expect(answer.json().error.details[0].field).toBe('token');
    }
    const reference = 'Order #12 (café), INV 9';
    expect((await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149', token: signed({ reference }) } })).statusCode).toBe(201);
    const list = await r.app.inject({ method: 'GET', url: `/v1/payments?reference=${encodeURIComponent(reference)}`, headers: { authorization: `Bearer ${secret}` } });
    expect(list.json().data.map((payment: { reference: string }) => payment.reference)).toEqual([reference]);
  });

  it('answers 404 for a payment id that cannot be one, on the payment and on its stream', async () => {
    const r = await start();
    const long = `pay_${'a'.repeat(70)}`;
    for (const url of ['/v1/payments/pay_%00', '/v1/payments/pay_%00/events', '/v1/payments/pay_%F0%9F%8C%BE', '/v1/payments/pay_a%0Ab/events', `/v1/payments/${long}`, `/v1/payments/${long}/events`]) {
      const answer = await r.app.inject({ method: 'GET', url, headers: { accept: 'text/event-stream' } });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.json().error.details).toEqual([{ field: 'id', message: 'no payment has this id' }]);
    }
  });

  it("answers 400 naming the field for a reference filter or a cursor no page of the merchant's could hold", async () => {
    const r = await start();
    const secret = r.app.merchants.byId('demo')!.secretKeys[0]!;
    const list = (query: string) => r.app.inject({ method: 'GET', url: `/v1/payments?${query}`, headers: { authorization: `Bearer ${secret}` } });
    const reference = await list('reference=a%00b');
    expect(reference.statusCode).toBe(400);
    expect(reference.json().error.details[0]).toMatchObject({ field: 'querystring.reference' });
    const cursor = (text: string) => `cursor=${Buffer.from(text).toString('base64url')}`;
    for (const odd of ['99999999999999999999999:pay_0000000000000000000000', '1700000000000:pay_\u0000', '1700000000000:x']) {
      const answer = await list(cursor(odd));
      expect(answer.statusCode, odd).toBe(400);
      expect(answer.json().error.details).toEqual([{ field: 'cursor', message: 'is not a cursor from a previous page' }]);
    }
    expect((await list('reference=INV-9')).statusCode).toBe(200);
  });

  it('refuses with 400 a callback whose reference holds a control character', async () => {
    // Daraja's callbacks take any CheckoutRequestID (the sandbox's own shape check would refuse
    // these before the relay looks): nothing is pushed, so its address is never called.
    const daraja = new DarajaProvider({ baseUrl: 'http://127.0.0.1:9', consumerKey: 'ck', consumerSecret: 'cs', shortcode: '174379', passkey: 'pk', transactionType: 'CustomerPayBillOnline', partyB: '174379' });
    const chosen = options();
    schema = chosen.postgresSchema;
    relay = await startRelay({ ...chosen, merchants: [demoMerchant(daraja)], reconcileTickMs: 60_000, callbackToken: TOKEN });
    const callback = (checkoutRequestId: string) => JSON.stringify({ Body: { stkCallback: { MerchantRequestID: 'm-1', CheckoutRequestID: checkoutRequestId, ResultCode: 1032, ResultDesc: 'Request cancelled by user' } } });
    for (const ref of ['ws_CO_1\u0000', 'ws_CO_1\u001b[2J']) {
      const answer = await relay.app.inject({ method: 'POST', url: `/v1/callbacks/daraja/${TOKEN}`, headers: { 'content-type': 'application/json' }, payload: callback(ref) });
      expect(answer.statusCode, JSON.stringify(ref)).toBe(400);
      expect(answer.json()).toEqual({ received: false, verdict: 'rejected' });
    }
    // A plain reference this relay never made is still answered 200, so the provider stops.
    const unknown = await relay.app.inject({ method: 'POST', url: `/v1/callbacks/daraja/${TOKEN}`, headers: { 'content-type': 'application/json' }, payload: callback('ws_CO_1') });
    expect(unknown.json()).toEqual({ received: true, verdict: 'unknown_payment' });
  });

  it('answers 200 unknown_payment to a callback with cents for a payment this relay never made, on both databases', async () => {
    // A provider's callback about a collection the relay did not make (IntaSend and KulmiPay send
    // every collection on the account) is matched by phone and amount only when the amount is
    // whole shillings, as every payment's is; PostgreSQL refused 250.5 for its integer column.
    const daraja = new DarajaProvider({ baseUrl: 'http://127.0.0.1:9', consumerKey: 'ck', consumerSecret: 'cs', shortcode: '174379', passkey: 'pk', transactionType: 'CustomerPayBillOnline', partyB: '174379' });
    const chosen = options();
    schema = chosen.postgresSchema;
    relay = await startRelay({ ...chosen, merchants: [demoMerchant(daraja)], reconcileTickMs: 60_000, callbackToken: TOKEN });
    for (const amount of [250.5, 1e21, 2 ** 31]) {
      const answer = await relay.app.inject({
        method: 'POST',
        url: `/v1/callbacks/daraja/${TOKEN}`,
        headers: { 'content-type': 'application/json' },
        payload: {
          Body: {
            stkCallback: {
              MerchantRequestID: 'm-1',
              CheckoutRequestID: 'ws_CO_never_made_1',
              ResultCode: 0,
              ResultDesc: 'ok',
              CallbackMetadata: { Item: [{ Name: 'Amount', Value: amount }, { Name: 'MpesaReceiptNumber', Value: 'SXX0000001' }, { Name: 'PhoneNumber', Value: 254712345678 }] },
            },
          },
        },
      });
      expect(answer.statusCode, String(amount)).toBe(200);
      expect(answer.json()).toEqual({ received: true, verdict: 'unknown_payment' });
    }
  });
});
