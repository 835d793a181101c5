import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone, toLocalPhone } from './phone.js';

describe('normalizePhone', () => {
  it.each([
    ['0708374149', '254708374149'],
    ['0708 374 149', '254708374149'],
    ['0708-374-149', '254708374149'],
    ['+254 708 374 149', '254708374149'],
    ['+254-708-374-149', '254708374149'],
    ['254708374149', '254708374149'],
    ['708374149', '254708374149'],
    ['0110 123 456', '254110123456'],
    ['+254110123456', '254110123456'],
    ['(0708) 374.149', '254708374149'],
    ['  0708374149  ', '254708374149'],
    ['+254 (0)708 374 149', '254708374149'],
    ['+2540708374149', '254708374149'],
    ['00254 708 374 149', '254708374149'],
    ['002540110123456', '254110123456'],
    // Copied from WhatsApp or a contact card, with invisible direction marks or zero-width spaces.
    ['\u202a+254 708 374 149\u202c', '254708374149'],
    ['\u200e0708 374 149\u200e', '254708374149'],
    ['\u20660708374149\u2069', '254708374149'],
    ['\ufeff0708\u200b374149', '254708374149'],
  ])('accepts %j as %s', (input, msisdn) => {
    expect(normalizePhone(input)).toEqual({ ok: true, msisdn });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['07083741490', 'length'],
    ['070837414', 'length'],
    ['0208374149', 'prefix'],
    ['+1 708 374 1490', 'prefix'],
    ['+44 7083 741490', 'prefix'],
    ['0708374149x', 'characters'],
    ['phone', 'characters'],
    ['0708+374149', 'characters'],
    ['255708374149', 'prefix'],
    ['+25400708374149', 'length'],
    ['2540208374149', 'prefix'],
  ])('refuses %j (%s)', (input, reason) => {
    expect(normalizePhone(input)).toEqual({ ok: false, reason });
  });
});

describe('maskPhone', () => {
  it('keeps the country code, first digit and last three only', () => {
    expect(maskPhone('254712345412')).toBe('2547•••••412');
  });
});

describe('toLocalPhone', () => {
  it('gives the 07… form UpesiPay wants', () => {
    expect(toLocalPhone('254712345412')).toBe('0712345412');
  });
});
