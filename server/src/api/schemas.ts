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

/** Control characters (PostgreSQL refuses NUL in text), as the inside of a character class. */
const CONTROL_CHARACTERS = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f';
/** Characters no text of a payment holds: controls and unpaired surrogates. */
const NOT_PLAIN_TEXT = new RegExp(`[${CONTROL_CHARACTERS}]|\\p{Cs}`, 'u');

/**
 * Plain text, as the API description says it: refinements are invisible to its JSON Schema, so
 * each rule a refinement checks is restated there. A JSON Schema pattern cannot name unpaired
 * surrogates portably (no `\p{Cs}`): the words say so instead.
 */
const PLAIN_TEXT_JSON = { pattern: `^[^${CONTROL_CHARACTERS}]*$` };
/** Not empty once trimmed (`trim().min(1)`): something besides white space. */
const FILLED_JSON = { not: { pattern: '^\\s*$' } };

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

/** Without a checkout token, the most a reference and a description may hold (typed text). */
const TYPED_REFERENCE_MAX = 64;
const TYPED_DESCRIPTION_MAX = 140;
/** With a token, the most: the merchant's signed text. */
const SIGNED_TEXT_MAX = 4096;

/**
 * A payment's details as a browser or a bot sends them. The reference and description a customer
 * could type are held to their rules; beside a checkout token they are the merchant's signed text
 * (any plain text), sent back as the token has them, and only compared with it (payments/policy.ts).
 */
const paymentBodyFields = z.strictObject({
  amount: amountSchema.describe('Whole Kenyan shillings; each merchant accepts a narrower range or list (a 400 names it).'),
  phone: z.string({ error: 'must be a string such as 0712 345 678' }).max(32, { error: 'is too long for a phone number' }),
  reference: z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(SIGNED_TEXT_MAX, { error: `must be at most ${SIGNED_TEXT_MAX} characters` })
    .refine(isPlainText, { error: 'must be plain text, without control characters' })
    .meta({
      ...PLAIN_TEXT_JSON,
      ...FILLED_JSON,
      description:
        `Without \`token\`: 1 to ${TYPED_REFERENCE_MAX} characters, only letters, digits, spaces and - _ . / # :. ` +
        `With \`token\`: the token's own reference, 1 to ${SIGNED_TEXT_MAX} characters of plain text (no control characters or unpaired surrogates). ` +
        'Counted after leading and trailing white space is trimmed.',
    })
    .optional(),
  description: z
    .string()
    .trim()
    .max(SIGNED_TEXT_MAX, { error: `must be at most ${SIGNED_TEXT_MAX} characters` })
    .refine(isPlainText, { error: 'must be plain text, without control characters' })
    .meta({
      ...PLAIN_TEXT_JSON,
      description:
        `Plain text (no control characters or unpaired surrogates). Without \`token\`: at most ${TYPED_DESCRIPTION_MAX} characters. ` +
        `With \`token\`: at most ${SIGNED_TEXT_MAX}, and ignored (the token's own description is kept). Counted after leading and trailing white space is trimmed.`,
    })
    .optional(),
  token: z.string().max(SIGNED_TEXT_MAX).optional(),
  publishableKey: z.string().max(200).optional(),
});

/** Without a token, what a customer could type: the reference and description rules. */
function typedTextRules(body: { reference?: string | undefined; description?: string | undefined; token?: string | undefined }, context: z.RefinementCtx): void {
  if (body.token !== undefined) return;
  const { reference, description } = body;
  if (reference !== undefined && reference.length > TYPED_REFERENCE_MAX) context.addIssue({ code: 'custom', path: ['reference'], message: `must be at most ${TYPED_REFERENCE_MAX} characters` });
  else if (reference !== undefined && !REFERENCE.test(reference)) context.addIssue({ code: 'custom', path: ['reference'], message: REFERENCE_RULE.error });
  if (description !== undefined && description.length > TYPED_DESCRIPTION_MAX) context.addIssue({ code: 'custom', path: ['description'], message: `must be at most ${TYPED_DESCRIPTION_MAX} characters` });
}

/**
 * `typedTextRules` as JSON Schema, for the API description (it cannot see a superRefine): a body
 * either has no token and keeps to the typed limits, or has one.
 */
const BODY_FORMS_JSON = {
  oneOf: [
    {
      title: 'Typed',
      description: 'Without a checkout token: text a customer could type.',
      not: { required: ['token'] },
      properties: { reference: { maxLength: TYPED_REFERENCE_MAX, pattern: REFERENCE.source }, description: { maxLength: TYPED_DESCRIPTION_MAX } },
    },
    { title: 'Signed', description: "With a checkout token: the merchant's signed reference, as the token has it.", required: ['token'] },
  ],
};

export const createPaymentBodySchema = paymentBodyFields.superRefine(typedTextRules).meta(BODY_FORMS_JSON);

/** `POST /v1/checkout/terms`: the same, without the phone. */
export const checkoutTermsBodySchema = paymentBodyFields.omit({ phone: true }).superRefine(typedTextRules).meta(BODY_FORMS_JSON);

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
  reference: z
    .string()
    .max(SIGNED_TEXT_MAX, { error: `must be at most ${SIGNED_TEXT_MAX} characters` })
    .refine(isPlainText, { error: 'must be plain text, without control characters' })
    .meta({ ...PLAIN_TEXT_JSON, description: `The exact reference: plain text (no control characters or unpaired surrogates), at most ${SIGNED_TEXT_MAX} characters.` })
    .optional(),
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
