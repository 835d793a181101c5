import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { jsonFaultOffset, loadMerchantsFile } from './merchants-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'stk-merchants-'));
  dirs.push(dir);
  const path = join(dir, 'merchants.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const shop = {
  id: 'shop',
  name: 'Shop',
  publishableKeys: ['pk_test_shop0001x'],
  secretKeys: ['${SHOP_SECRET}'],
  allowedOrigins: ['https://shop.example'],
  provider: { name: 'sandbox' },
  amount: { min: 10, max: 5000, allowed: [250, 500], requireToken: true },
  webhookUrl: 'https://shop.example/hooks/stk-pay',
};

describe('the merchants file (STK_PAY_CONFIG)', () => {
  it('builds each merchant, with secrets from ${ENV} references', () => {
    const [merchant] = loadMerchantsFile(file({ merchants: [shop] }), { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' });
    expect(merchant).toMatchObject({
      id: 'shop',
      secretKeys: ['sk_test_0123456789abcdefXYZ'],
      allowedOrigins: ['https://shop.example'],
      amount: { min: 10, max: 5000, allowed: [250, 500], requireToken: true },
      webhookUrl: 'https://shop.example/hooks/stk-pay',
    });
    expect(merchant?.provider.name).toBe('sandbox');
  });

  it('keeps each allowed origin as a browser sends it: the host in lower case, without the default port', () => {
    const origins = ['https://WWW.MamaMboga.co.ke', 'https://mamamboga.co.ke:443', 'http://localhost:80', 'http://127.0.0.1:5173', 'self'];
    const [merchant] = loadMerchantsFile(file({ merchants: [{ ...shop, allowedOrigins: origins }] }), { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' });
    expect(merchant?.allowedOrigins).toEqual(['https://www.mamamboga.co.ke', 'https://mamamboga.co.ke', 'http://localhost', 'http://127.0.0.1:5173', 'self']);
  });

  it.each([
    ['a missing ${ENV} reference', { merchants: [shop] }, {}, /^STK_PAY_CONFIG: merchants\[0\]\.secretKeys\[0\] refers to \$\{SHOP_SECRET\}, which is not set$/],
    ['a bad origin', { merchants: [{ ...shop, allowedOrigins: ['https://shop.example/path'] }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]\.allowedOrigins\[0\]: must be an origin/],
    ['a publishable key without pk_', { merchants: [{ ...shop, publishableKeys: ['shop'] }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]\.publishableKeys\[0\]: must look like pk_/],
    ['min above max', { merchants: [{ ...shop, amount: { min: 900, max: 100 } }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]\.amount\.min: min must not be above max/],
    ['an allowed amount out of range', { merchants: [{ ...shop, amount: { min: 10, max: 100, allowed: [500] } }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /amount\.allowed: every amount must lie between min and max/],
    ['a max past what a payment can hold', { merchants: [{ ...shop, amount: { min: 10, max: 3_000_000_000 } }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]\.amount\.max: must be at most 2147483647/],
    ['an unknown field', { merchants: [{ ...shop, colour: 'green' }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]: .*\(colour\)/],
    ['an unknown provider', { merchants: [{ ...shop, provider: { name: 'paypal' } }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[0\]\.provider\.name/],
    ['two merchants with one id', { merchants: [shop, { ...shop, publishableKeys: ['pk_test_other0001'], secretKeys: ['sk_test_other_0123456789abc'] }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /merchants\[1\]\.id: "shop" is used twice/],
    ['no merchants', { merchants: [] }, {}, /merchants: must list at least one merchant/],
    ['a webhook password with a % that starts no escape', { merchants: [{ ...shop, webhookUrl: 'https://shop:50%off@shop.example/hooks' }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /^STK_PAY_CONFIG: merchants\[0\]\.webhookUrl: its user or password has a % that starts no escape/],
    ['a sandbox delay that is not a number', { merchants: [{ ...shop, provider: { name: 'sandbox', settings: { SANDBOX_DELAY_MS: 'abc' } } }] }, { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' }, /^STK_PAY_CONFIG: merchants\[0\]\.provider\.settings: SANDBOX_DELAY_MS must be a whole number of milliseconds/],
    [
      'a misspelt provider setting',
      { merchants: [{ ...shop, provider: { name: 'daraja', settings: { DARAJA_CONSUMER_KEY: 'ck', DARAJA_CONSUMER_SECRET: 'cs', DARAJA_SHORTCODE: '174379', DARAJA_PASSKEY: 'pk', DARAJA_TRANSACTON_TYPE: 'CustomerBuyGoodsOnline' } } }] },
      { SHOP_SECRET: 'sk_test_0123456789abcdefXYZ' },
      /^STK_PAY_CONFIG: merchants\[0\]\.provider\.settings: DARAJA_TRANSACTON_TYPE: not a setting of daraja \(its settings: .*DARAJA_TRANSACTION_TYPE/,
    ],
  ])('stops with one line naming the field: %s', (_name, content, env, message) => {
    const path = file(content);
    expect(() => loadMerchantsFile(path, env)).toThrow(ConfigError);
    expect(() => loadMerchantsFile(path, env)).toThrow(message);
  });

  it('names the file when it is missing or not JSON', () => {
    expect(() => loadMerchantsFile('/nonexistent/merchants.json', {})).toThrow(/cannot read \/nonexistent\/merchants\.json: no such file/);
    expect(() => loadMerchantsFile(file('{ nope'), {})).toThrow(/STK_PAY_CONFIG: cannot read .*: not valid JSON at line 1, column 3$/);
  });

  it('a JSON syntax error is named by its line and column alone, on one line, never with the file around it (a literal secret key before a stray comma)', () => {
    // Made up at each run, the shape of a live key (28 characters): no key is kept in the repository.
    const secret = `sk_live_${randomBytes(15).toString('base64url')}`;
    const text = `{\n  "merchants": [{\n    "id": "shop",\n    "secretKeys": ["${secret}", ],\n  "provider": { "name": "sandbox" }\n  }]\n}\n`;
    const path = file(text);
    let message = '';
    try {
      loadMerchantsFile(path, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`STK_PAY_CONFIG: cannot read ${path}: not valid JSON at line 4, column 52`);
    // Not even the 7 characters Node 20's message showed.
    expect(message).not.toContain(secret.slice(-7));
  });

  it.each([
    ['a stray comma in an object', '{"a": 1,\n}', 2, 1],
    ['a missing comma', '{"a": 1\n "b": 2}', 2, 2],
    ['a missing colon', '{"a" 1}', 1, 6],
    ['single quotes', "{'a': 1}", 1, 2],
    ['a line break in a string', '{"a": "x\ny"}', 1, 7],
    ['a comment', '{\n  // merchants\n}', 2, 3],
    ['text after the document', '{}\n}', 2, 1],
    ['an early end', '{"a": [1,\n', 2, 1],
    ['an empty file', '', 1, 1],
    ['a leading zero', '[01]', 1, 3],
    ['a bare word', '[tru]', 1, 2],
  ])('names where the JSON goes wrong: %s', (_name, text, line, column) => {
    expect(() => loadMerchantsFile(file(text), {})).toThrow(new RegExp(`: not valid JSON at line ${line}, column ${column}$`));
  });

  it('finds a fault exactly where JSON.parse refuses a document, and none where it reads one', () => {
    const documents = ['{}', '[]', ' [1, -0.5e+3, "a\\u00e9\\n", true, false, null, {"b": [{}]}] ', '"x"', '0', '{"a":1}}', '[1,]', '[1 2]', '{"a":}', '[-]', '[1.]', '"\\x"', '"\\u12"', '[nul]', '{"a":1,"b":[{"c":"d",}]}', '\u00a0{}', '\ufeff{}'];
    for (const text of documents) {
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect(jsonFaultOffset(text) === -1, text).toBe(parses);
    }
  });
});
