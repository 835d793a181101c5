/**
 * Merchants: who may take payments through this relay, from which websites, for which amounts,
 * through which provider. Today one demo merchant; the merchants file (`STK_PAY_CONFIG`) adds more.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Provider } from './providers/types.js';

export interface AmountPolicy {
  /** Whole shillings, inclusive. */
  min: number;
  max: number;
  /** When set, only these amounts are accepted. */
  allowed?: number[];
  /** The amount and reference must come in a checkout token signed with the secret key. */
  requireToken?: boolean;
}

export interface Merchant {
  id: string;
  name: string;
  publishableKeys: string[];
  /** For the merchant API and for signing checkout tokens and webhooks; the first one signs. */
  secretKeys: string[];
  /** Exact origins (`https://shop.example`), or `self` for the relay's own pages. */
  allowedOrigins: string[];
  provider: Provider;
  amount: AmountPolicy;
  /** Where terminal payments are POSTed, signed; none when undefined. */
  webhookUrl?: string;
}

/** The per-transaction range the aggregators document (KES 1 to 150,000). */
export const DEFAULT_AMOUNT_POLICY: AmountPolicy = { min: 1, max: 150_000 };

export const DEMO_PUBLISHABLE_KEY = 'pk_test_demo';

/** `sk_test_` + 32 random base64url characters. */
export function generateSecretKey(): string {
  return `sk_test_${randomBytes(24).toString('base64url')}`;
}

export class MerchantRegistry {
  private readonly byKey = new Map<string, Merchant>();
  private readonly origins = new Set<string>();

  constructor(readonly merchants: Merchant[]) {
    for (const merchant of merchants) {
      for (const key of merchant.publishableKeys) this.byKey.set(key, merchant);
      for (const origin of merchant.allowedOrigins) if (origin !== 'self') this.origins.add(origin);
    }
  }

  byPublishableKey(key: string | undefined): Merchant | undefined {
    return key === undefined ? undefined : this.byKey.get(key);
  }

  bySecretKey(key: string | undefined): Merchant | undefined {
    if (key === undefined) return undefined;
    return this.merchants.find((merchant) => merchant.secretKeys.some((secret) => sameSecret(secret, key)));
  }

  byId(id: string): Merchant | undefined {
    return this.merchants.find((merchant) => merchant.id === id);
  }

  /** For CORS: an origin some merchant accepts (each request is then checked against its own merchant). */
  isKnownOrigin(origin: string): boolean {
    return this.origins.has(origin);
  }

  providers(): Provider[] {
    return [...new Set(this.merchants.map((merchant) => merchant.provider))];
  }

  /** Every configured instance of a provider (several merchants may use one provider with their own keys). */
  providersNamed(name: string): Provider[] {
    return this.providers().filter((provider) => provider.name === name);
  }
}

/** Whether a browser at `origin` may create payments for `merchant`; `ownOrigin` is the relay's. */
export function originAllowed(merchant: Merchant, origin: string, ownOrigin: string): boolean {
  return merchant.allowedOrigins.includes(origin) || (merchant.allowedOrigins.includes('self') && origin === ownOrigin);
}

/** Constant-time comparison of two secrets (a length mismatch returns false without early exit on content). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length ? timingSafeEqual(a, b) : (timingSafeEqual(b, b), false);
}
