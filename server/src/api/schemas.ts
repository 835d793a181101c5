/**
 * The public HTTP contract, as zod schemas. The relay validates and serialises with them; the
 * widget and the bot import their *types* only, so zod never enters the widget bundle.
 */
import { z } from 'zod';

export const PAYMENT_STATUSES = ['pending', 'awaiting_customer', 'succeeded', 'failed'] as const;
export const FAILURE_CODES = [
  'cancelled',
  'insufficient_funds',
  'wrong_pin',
  'timeout',
  'unreachable',
  'rejected',
  'provider_error',
] as const;

export const paymentStatusSchema = z.enum(PAYMENT_STATUSES);
export const failureCodeSchema = z.enum(FAILURE_CODES);

/** The largest amount a payment can hold: both databases store it as a 32-bit integer. */
export const MAX_PAYMENT_AMOUNT = 2_147_483_647;

/** Whether a number (a provider's, say) is an amount some payment could hold. */
export function isPaymentAmount(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount >= 1 && amount <= MAX_PAYMENT_AMOUNT;
}

/** Whole Kenyan shillings; the per-merchant policy narrows the range further. */
export const amountSchema = z
  .number({ error: 'must be a number of whole Kenyan shillings' })
  // First, and alone: zod's int() refuses integers past 2^53 too, as if they had cents.
  .max(MAX_PAYMENT_AMOUNT, { error: `must be at most ${MAX_PAYMENT_AMOUNT}`, abort: true })
  .int({ error: 'must be whole shillings (no cents)' })
  .positive({ error: 'must be at least 1' });

/** Characters no text of a payment holds: controls (PostgreSQL refuses NUL in text) and unpaired surrogates. */
const NOT_PLAIN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|\p{Cs}/u;

/** Whether text can be stored and read back as it is, in either database. */
export function isPlainText(text: string): boolean {
  return !NOT_PLAIN_TEXT.test(text);
}

/** A merchant's invoice or order number: what `reference` may hold, given or searched for. */
const REFERENCE = /^[\w\-./#: ]+$/;
const REFERENCE_RULE = { error: 'may contain only letters, digits, spaces and - _ . / # :' };

/** Our payment ids (`newPaymentId`), and the shorter, wholly random ones made before them. */
const PAYMENT_ID = /^pay_[A-Za-z0-9]{22,40}$/;

/** Whether an id from outside (a URL, a cursor, a provider's echo) can name a payment at all. */
export function isPaymentId(id: string): boolean {
  return PAYMENT_ID.test(id);
}

/**
 * A payment's details as a browser or a bot sends them. The reference and description a customer
 * could type are held to their rules; beside a checkout token they are the merchant's signed text
 * (any plain text), sent back as the token has them, and only compared with it (payments/policy.ts).
 */
const paymentBodyFields = z.strictObject({
  amount: amountSchema,
  phone: z.string({ error: 'must be a string such as 0712 345 678' }).max(32, { error: 'is too long for a phone number' }),
  reference: z.string().trim().min(1, { error: 'must not be empty' }).max(4096, { error: 'must be at most 4096 characters' }).refine(isPlainText, { error: 'must be plain text, without control characters' }).optional(),
  description: z.string().trim().max(4096, { error: 'must be at most 4096 characters' }).refine(isPlainText, { error: 'must be plain text, without control characters' }).optional(),
  token: z.string().max(4096).optional(),
  publishableKey: z.string().max(200).optional(),
});

/** Without a token, what a customer could type: the reference and description rules. */
function typedTextRules(body: { reference?: string | undefined; description?: string | undefined; token?: string | undefined }, context: z.RefinementCtx): void {
  if (body.token !== undefined) return;
  const { reference, description } = body;
  if (reference !== undefined && reference.length > 64) context.addIssue({ code: 'custom', path: ['reference'], message: 'must be at most 64 characters' });
  else if (reference !== undefined && !REFERENCE.test(reference)) context.addIssue({ code: 'custom', path: ['reference'], message: REFERENCE_RULE.error });
  if (description !== undefined && description.length > 140) context.addIssue({ code: 'custom', path: ['description'], message: 'must be at most 140 characters' });
}

export const createPaymentBodySchema = paymentBodyFields.superRefine(typedTextRules);

/** `POST /v1/checkout/terms`: the same, without the phone. */
export const checkoutTermsBodySchema = paymentBodyFields.omit({ phone: true }).superRefine(typedTextRules);

export const idempotencyKeySchema = z
  .string()
  .min(8, { error: 'must be 8 to 255 characters' })
  .max(255, { error: 'must be 8 to 255 characters' })
  .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' });

export const paymentIdParamsSchema = z.object({
  id: z.string().regex(PAYMENT_ID, { error: 'not a payment id' }),
});

export const paymentSchema = z.object({
  id: z.string(),
  status: paymentStatusSchema,
  amount: z.number().int(),
  currency: z.literal('KES'),
  reference: z.string().nullable(),
  description: z.string().nullable(),
  phone: z.string().describe('masked, e.g. 2547•••••412'),
  provider: z.string(),
  failure: z.object({ code: failureCodeSchema, message: z.string() }).optional(),
  receipt: z.string().optional(),
  seq: z.number().int().describe('increases with every change; the SSE event id'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** What the merchant sees with its secret key: the full phone and the provider's own words. */
export const merchantPaymentSchema = paymentSchema.extend({
  phone: z.string().describe('full, 2547XXXXXXXX'),
  merchantId: z.string(),
  failure: z.object({ code: failureCodeSchema, message: z.string(), providerMessage: z.string().optional() }).optional(),
  /** Set when the relay cannot settle the payment by itself: look at the provider's dashboard. */
  review: z.object({ reason: z.string() }).optional(),
});

export const paymentListQuerySchema = z.strictObject({
  // Any reference a payment can hold: a typed one, or a checkout token's (any plain text).
  reference: z.string().max(4096, { error: 'must be at most 4096 characters' }).refine(isPlainText, { error: 'must be plain text, without control characters' }).optional(),
  status: paymentStatusSchema.optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 to 100').max(100, 'must be 1 to 100').default(20),
  cursor: z.string().max(200).optional(),
});

export const paymentListSchema = z.object({
  data: z.array(merchantPaymentSchema),
  nextCursor: z.string().nullable(),
});

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});

export type PaymentStatus = z.infer<typeof paymentStatusSchema>;
export type FailureCode = z.infer<typeof failureCodeSchema>;
export type CreatePaymentBody = z.infer<typeof createPaymentBodySchema>;
export type PaymentView = z.infer<typeof paymentSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type MerchantPaymentView = z.infer<typeof merchantPaymentSchema>;

export const TERMINAL_STATUSES: readonly PaymentStatus[] = ['succeeded', 'failed'];
