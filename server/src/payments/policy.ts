/**
 * What a merchant accepts: the amount range or list, and, with `requireToken`, only what its
 * backend signed in a checkout token. The browser's word is never enough for the amount.
 */
import type { CreatePaymentBody } from '../api/schemas.js';
import { TOKEN_REASONS, verifyCheckoutToken } from '../checkout-token.js';
import { invalidField } from '../errors.js';
import type { Merchant } from '../merchants.js';

export interface AcceptedTerms {
  amount: number;
  reference: string | null;
  description: string | null;
}

const kes = (amount: number) => `KES ${amount.toLocaleString('en-KE')}`;

/** The amount, reference and description to charge, or a 400 naming the field at fault. */
export function acceptTerms(merchant: Merchant, body: CreatePaymentBody, nowMs = Date.now()): AcceptedTerms {
  const terms: AcceptedTerms = { amount: body.amount, reference: body.reference ?? null, description: body.description || null };
  if (body.token !== undefined) {
    const verdict = verifyCheckoutToken(body.token, merchant.id, merchant.secretKeys, nowMs);
    if (!verdict.ok) throw invalidField('token', TOKEN_REASONS[verdict.reason]);
    const { claims } = verdict;
    if (claims.amount !== body.amount) throw invalidField('amount', `does not match the checkout token (${kes(claims.amount)})`);
    if (body.reference !== undefined && body.reference !== claims.reference) throw invalidField('reference', 'does not match the checkout token');
    // What the merchant signed, and nothing the browser adds: no description signed, none kept.
    terms.reference = claims.reference;
    terms.description = claims.description ?? null;
  } else if (merchant.amount.requireToken) {
    throw invalidField('token', 'this merchant takes payments only through a checkout token signed by its server');
  }
  const { min, max, allowed } = merchant.amount;
  if (allowed && !allowed.includes(terms.amount)) {
    throw invalidField('amount', `this merchant accepts only ${allowed.map(kes).join(', ')}`);
  }
  if (terms.amount < min || terms.amount > max) throw invalidField('amount', `this merchant accepts ${kes(min)} to ${kes(max)}`);
  return terms;
}
