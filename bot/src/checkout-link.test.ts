import { createCheckoutToken } from '@stk-pay/server/merchant';
import { describe, expect, it } from 'vitest';
import { fromStartPayload, readClaims, telegramLink, toStartPayload } from './checkout-link.js';

const SECRET = 'sk_test_0123456789abcdef0123456789abcdef';
const now = new Date('2026-03-01T09:00:00Z');
const sign = (input: { amount: number; reference: string; description?: string; merchant?: string }) =>
  createCheckoutToken({ merchant: 'demo', ...input, expiresInSeconds: 3600, now }, SECRET);

describe('Telegram payment links', () => {
  it('fit a checkout token into the 64 characters of a /start payload and give back the exact token', () => {
    const token = sign({ amount: 250, reference: 'INV-9' });
    expect(token.length).toBeGreaterThan(64);
    const compact = toStartPayload(token);
    if (!compact.ok) throw new Error(compact.reason);
    expect(compact.value).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(fromStartPayload(compact.value, 'demo')).toBe(token);
  });

  it('keep the largest amount (KES 150,000) with a 9-character reference', () => {
    const token = sign({ amount: 150_000, reference: 'INV-26-01' });
    const compact = toStartPayload(token);
    expect(compact.ok && compact.value.length).toBe(64);
    expect(compact.ok && fromStartPayload(compact.value, 'demo')).toBe(token);
  });

  it('rebuild the token for the merchant id the bot is configured with', () => {
    const compact = toStartPayload(sign({ amount: 250, reference: 'INV-9' }));
    expect(compact.ok && readClaims(fromStartPayload(compact.value, 'other-shop')!)?.merchant).toBe('other-shop');
  });

  it('say why a token has no link: a description, a reference with other characters, or too long a reference', () => {
    expect(toStartPayload(sign({ amount: 250, reference: 'INV-9', description: 'flour' }))).toMatchObject({ ok: false, reason: expect.stringContaining('description') });
    expect(toStartPayload(sign({ amount: 250, reference: 'INV 9/B' }))).toMatchObject({ ok: false, reason: expect.stringContaining('letters, digits') });
    expect(toStartPayload(sign({ amount: 250, reference: 'A-VERY-LONG-REFERENCE' }))).toMatchObject({ ok: false, reason: expect.stringContaining('too long') });
    expect(toStartPayload('not-a-token')).toMatchObject({ ok: false });
  });

  it('read the claims of a token without trusting it, and nothing from a malformed one', () => {
    const token = sign({ amount: 640, reference: 'ORDER 77/B', description: '2 bags of flour' });
    expect(readClaims(token)).toMatchObject({ merchant: 'demo', amount: 640, reference: 'ORDER 77/B', description: '2 bags of flour' });
    expect(readClaims('ct1.e30.abc')).toBeUndefined();
    expect(readClaims(`ct1.${Buffer.from('{"amount":"250"}').toString('base64url')}.${'x'.repeat(43)}`)).toBeUndefined();
    expect(fromStartPayload('INV-9', 'demo')).toBeUndefined();
  });

  it('make a t.me link with the compact payload', () => {
    const link = telegramLink('@mama_mboga_bot', sign({ amount: 250, reference: 'INV-9' }));
    expect(link.ok && link.value).toMatch(/^https:\/\/t\.me\/mama_mboga_bot\?start=[A-Za-z0-9_-]{1,64}$/);
  });
});
