import { describe, expect, it } from 'vitest';
import { createCheckoutToken, verifyCheckoutToken } from './checkout-token.js';

const secret = 'sk_test_0123456789abcdef0123';

describe('checkout tokens', () => {
  it('round-trips the signed amount, reference and description', () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9', description: 'Flour' }, secret);
    const verdict = verifyCheckoutToken(token, 'shop', [secret]);
    expect(verdict).toMatchObject({ ok: true, claims: { merchant: 'shop', amount: 250, reference: 'INV-9', description: 'Flour' } });
  });

  it('refuses an edited amount (the signature no longer matches)', () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, secret);
    const [prefix, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    claims.amount = 1;
    const edited = `${prefix}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expect(verifyCheckoutToken(edited, 'shop', [secret])).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token signed with another key', () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, 'sk_test_someone_else_entirely');
    expect(verifyCheckoutToken(token, 'shop', [secret])).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token issued for another merchant', () => {
    const token = createCheckoutToken({ merchant: 'other', amount: 250, reference: 'INV-9' }, secret);
    expect(verifyCheckoutToken(token, 'shop', [secret])).toEqual({ ok: false, reason: 'other_merchant' });
  });

  it('refuses an expired token', () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9', expiresInSeconds: 60, now: new Date(Date.now() - 120_000) }, secret);
    expect(verifyCheckoutToken(token, 'shop', [secret])).toEqual({ ok: false, reason: 'expired' });
  });

  it('accepts any of the merchant keys, so keys can be rotated', () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, secret);
    expect(verifyCheckoutToken(token, 'shop', ['sk_test_new_key_0000000000', secret]).ok).toBe(true);
  });

  it.each(['', 'garbage', 'ct1.x', 'ct1.!!!.sig', 'ct2.a.b'])('refuses a malformed token %j', (token) => {
    expect(verifyCheckoutToken(token, 'shop', [secret]).ok).toBe(false);
  });
});
