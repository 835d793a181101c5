/**
 * The M-Pesa Express callback body (`Body.stkCallback`), as Daraja sends it and as the sandbox
 * and UpesiPay mirror it. Metadata items are read by name, never by position.
 */
import { z } from 'zod';
import { normalizePhone } from '../phone.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import type { ParsedCallback } from './types.js';

// An item may come without its value (Daraja's own samples send `Balance` so, or as null).
const itemSchema = z.object({ Name: z.string(), Value: z.union([z.string(), z.number()]).nullish() });

export const stkCallbackSchema = z.object({
  Body: z.object({
    stkCallback: z.object({
      MerchantRequestID: z.string().optional(),
      CheckoutRequestID: z.string().min(1),
      ResultCode: z.union([z.number(), z.string().regex(/^\d+$/)]),
      ResultDesc: z.string().optional(),
      CallbackMetadata: z.object({ Item: z.array(itemSchema) }).optional(),
    }),
  }),
});

export type StkCallbackBody = z.infer<typeof stkCallbackSchema>;

export function parseStkCallback(body: unknown): ParsedCallback {
  const parsed = stkCallbackSchema.safeParse(body);
  if (!parsed.success) return { kind: 'reject', reason: 'not an M-Pesa Express callback body' };
  const callback = parsed.data.Body.stkCallback;
  const update = statusFromResultCode(Number(callback.ResultCode), callback.ResultDesc);
  if (update.status === 'succeeded') {
    const items = callback.CallbackMetadata?.Item ?? [];
    const find = (name: string) => items.find((item) => item.Name === name)?.Value;
    const receipt = find('MpesaReceiptNumber');
    const rawAmount = find('Amount');
    const amount = rawAmount != null && Number.isFinite(Number(rawAmount)) ? Number(rawAmount) : undefined;
    const phone = normalizePhone(String(find('PhoneNumber') ?? ''));
    return {
      kind: 'status',
      providerRef: callback.CheckoutRequestID,
      update: {
        status: 'succeeded',
        ...(receipt != null ? { receipt: String(receipt) } : {}),
        ...(amount !== undefined ? { amount } : {}),
      },
      // For a push whose answer was lost: the payment is then found by who paid how much.
      ...(phone.ok && amount !== undefined ? { match: { phone: phone.msisdn, amount } } : {}),
    };
  }
  return { kind: 'status', providerRef: callback.CheckoutRequestID, update };
}
