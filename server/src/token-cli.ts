#!/usr/bin/env node
/**
 * `pnpm run token --merchant demo --amount 250 --reference INV-9 [--description "…"] [--expires 3600]`:
 * prints a signed checkout token for a merchant of this relay (its secret key from the merchants
 * file, or, for the demo merchant, from the relay's database).
 */
import { parseArgs } from 'node:util';
import { createCheckoutToken } from './checkout-token.js';
import { ConfigError, loadConfig } from './config.js';
import { loadMerchantsFile } from './merchants-file.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import { generateSecretKey } from './merchants.js';

const usage = 'usage: pnpm run token --merchant <id> --amount <KES> --reference <ref> [--description <text>] [--expires <seconds>]';

async function secretKeyOf(merchantId: string): Promise<string> {
  const config = loadConfig();
  if (config.STK_PAY_CONFIG) {
    const merchant = loadMerchantsFile(config.STK_PAY_CONFIG, process.env).find((candidate) => candidate.id === merchantId);
    if (!merchant) throw new ConfigError(`no merchant "${merchantId}" in ${config.STK_PAY_CONFIG}`);
    return merchant.secretKeys[0]!;
  }
  if (merchantId !== 'demo') throw new ConfigError(`without STK_PAY_CONFIG the only merchant is "demo"`);
  // The same setting the relay reads when it starts on this database.
  const store = config.DATABASE_URL ? await openPostgresStore(config.DATABASE_URL) : await openSqliteStore(config.STK_PAY_DB);
  try {
    return await store.getOrSetSetting('secret_key:demo', generateSecretKey());
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      merchant: { type: 'string' },
      amount: { type: 'string' },
      reference: { type: 'string' },
      description: { type: 'string' },
      expires: { type: 'string', default: '3600' },
    },
    strict: true,
  });
  const amount = Number(values.amount);
  const expires = Number(values.expires);
  if (!values.merchant || !values.reference || !Number.isSafeInteger(amount) || amount < 1 || !Number.isSafeInteger(expires) || expires < 1) {
    throw new ConfigError(usage);
  }
  const secretKey = await secretKeyOf(values.merchant);
  console.log(
    createCheckoutToken(
      { merchant: values.merchant, amount, reference: values.reference, expiresInSeconds: expires, ...(values.description ? { description: values.description } : {}) },
      secretKey,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(`stk-pay token: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
