/**
 * Merchants: who may take payments through this relay, from which websites, for which amounts,
 * through which provider. Today one demo merchant; the merchants file (`STK_PAY_CONFIG`) adds more.
 */
import type { Provider } from './providers/types.js';

export interface AmountPolicy {
  /** Whole shillings, inclusive. */
  min: number;
  max: number;
}

export interface Merchant {
  id: string;
  name: string;
  publishableKeys: string[];
  /** Exact origins (`https://shop.example`), or `self` for the relay's own pages. */
  allowedOrigins: string[];
  provider: Provider;
  amount: AmountPolicy;
}

/** The per-transaction range the aggregators document (KES 1 to 150,000). */
export const DEFAULT_AMOUNT_POLICY: AmountPolicy = { min: 1, max: 150_000 };

export const DEMO_PUBLISHABLE_KEY = 'pk_test_demo';

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
}

/** Whether a browser at `origin` may create payments for `merchant`; `ownOrigin` is the relay's. */
export function originAllowed(merchant: Merchant, origin: string, ownOrigin: string): boolean {
  return merchant.allowedOrigins.includes(origin) || (merchant.allowedOrigins.includes('self') && origin === ownOrigin);
}
