/**
 * The public HTTP contract, as zod schemas. The relay validates and serialises with them; the
 * widget and the bot import their *types* only, so zod never enters the widget bundle.
 */
import { z } from 'zod';
export declare const PAYMENT_STATUSES: readonly ["pending", "awaiting_customer", "succeeded", "failed"];
export declare const FAILURE_CODES: readonly ["cancelled", "insufficient_funds", "wrong_pin", "timeout", "unreachable", "rejected", "provider_error"];
export declare const paymentStatusSchema: z.ZodEnum<{
    pending: "pending";
    awaiting_customer: "awaiting_customer";
    succeeded: "succeeded";
    failed: "failed";
}>;
export declare const failureCodeSchema: z.ZodEnum<{
    cancelled: "cancelled";
    insufficient_funds: "insufficient_funds";
    wrong_pin: "wrong_pin";
    timeout: "timeout";
    unreachable: "unreachable";
    rejected: "rejected";
    provider_error: "provider_error";
}>;
/** Whole Kenyan shillings; the per-merchant policy narrows the range further. */
export declare const amountSchema: z.ZodNumber;
export declare const createPaymentBodySchema: z.ZodObject<{
    amount: z.ZodNumber;
    phone: z.ZodString;
    reference: z.ZodOptional<z.ZodString>;
    description: z.ZodOptional<z.ZodString>;
    token: z.ZodOptional<z.ZodString>;
    publishableKey: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export declare const idempotencyKeySchema: z.ZodString;
export declare const paymentIdParamsSchema: z.ZodObject<{
    id: z.ZodString;
}, z.core.$strip>;
export declare const paymentSchema: z.ZodObject<{
    id: z.ZodString;
    status: z.ZodEnum<{
        pending: "pending";
        awaiting_customer: "awaiting_customer";
        succeeded: "succeeded";
        failed: "failed";
    }>;
    amount: z.ZodNumber;
    currency: z.ZodLiteral<"KES">;
    reference: z.ZodNullable<z.ZodString>;
    description: z.ZodNullable<z.ZodString>;
    phone: z.ZodString;
    provider: z.ZodString;
    failure: z.ZodOptional<z.ZodObject<{
        code: z.ZodEnum<{
            cancelled: "cancelled";
            insufficient_funds: "insufficient_funds";
            wrong_pin: "wrong_pin";
            timeout: "timeout";
            unreachable: "unreachable";
            rejected: "rejected";
            provider_error: "provider_error";
        }>;
        message: z.ZodString;
    }, z.core.$strip>>;
    receipt: z.ZodOptional<z.ZodString>;
    seq: z.ZodNumber;
    createdAt: z.ZodString;
    updatedAt: z.ZodString;
}, z.core.$strip>;
/** What the merchant sees with its secret key: the full phone and the provider's own words. */
export declare const merchantPaymentSchema: z.ZodObject<{
    id: z.ZodString;
    status: z.ZodEnum<{
        pending: "pending";
        awaiting_customer: "awaiting_customer";
        succeeded: "succeeded";
        failed: "failed";
    }>;
    amount: z.ZodNumber;
    currency: z.ZodLiteral<"KES">;
    reference: z.ZodNullable<z.ZodString>;
    description: z.ZodNullable<z.ZodString>;
    provider: z.ZodString;
    receipt: z.ZodOptional<z.ZodString>;
    seq: z.ZodNumber;
    createdAt: z.ZodString;
    updatedAt: z.ZodString;
    phone: z.ZodString;
    merchantId: z.ZodString;
    failure: z.ZodOptional<z.ZodObject<{
        code: z.ZodEnum<{
            cancelled: "cancelled";
            insufficient_funds: "insufficient_funds";
            wrong_pin: "wrong_pin";
            timeout: "timeout";
            unreachable: "unreachable";
            rejected: "rejected";
            provider_error: "provider_error";
        }>;
        message: z.ZodString;
        providerMessage: z.ZodOptional<z.ZodString>;
    }, z.core.$strip>>;
    review: z.ZodOptional<z.ZodObject<{
        reason: z.ZodString;
    }, z.core.$strip>>;
}, z.core.$strip>;
export declare const paymentListQuerySchema: z.ZodObject<{
    reference: z.ZodOptional<z.ZodString>;
    status: z.ZodOptional<z.ZodEnum<{
        pending: "pending";
        awaiting_customer: "awaiting_customer";
        succeeded: "succeeded";
        failed: "failed";
    }>>;
    limit: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    cursor: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export declare const paymentListSchema: z.ZodObject<{
    data: z.ZodArray<z.ZodObject<{
        id: z.ZodString;
        status: z.ZodEnum<{
            pending: "pending";
            awaiting_customer: "awaiting_customer";
            succeeded: "succeeded";
            failed: "failed";
        }>;
        amount: z.ZodNumber;
        currency: z.ZodLiteral<"KES">;
        reference: z.ZodNullable<z.ZodString>;
        description: z.ZodNullable<z.ZodString>;
        provider: z.ZodString;
        receipt: z.ZodOptional<z.ZodString>;
        seq: z.ZodNumber;
        createdAt: z.ZodString;
        updatedAt: z.ZodString;
        phone: z.ZodString;
        merchantId: z.ZodString;
        failure: z.ZodOptional<z.ZodObject<{
            code: z.ZodEnum<{
                cancelled: "cancelled";
                insufficient_funds: "insufficient_funds";
                wrong_pin: "wrong_pin";
                timeout: "timeout";
                unreachable: "unreachable";
                rejected: "rejected";
                provider_error: "provider_error";
            }>;
            message: z.ZodString;
            providerMessage: z.ZodOptional<z.ZodString>;
        }, z.core.$strip>>;
        review: z.ZodOptional<z.ZodObject<{
            reason: z.ZodString;
        }, z.core.$strip>>;
    }, z.core.$strip>>;
    nextCursor: z.ZodNullable<z.ZodString>;
}, z.core.$strip>;
export declare const errorBodySchema: z.ZodObject<{
    error: z.ZodObject<{
        code: z.ZodString;
        message: z.ZodString;
        details: z.ZodOptional<z.ZodArray<z.ZodObject<{
            field: z.ZodString;
            message: z.ZodString;
        }, z.core.$strip>>>;
    }, z.core.$strip>;
}, z.core.$strip>;
export type PaymentStatus = z.infer<typeof paymentStatusSchema>;
export type FailureCode = z.infer<typeof failureCodeSchema>;
export type CreatePaymentBody = z.infer<typeof createPaymentBodySchema>;
export type PaymentView = z.infer<typeof paymentSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type MerchantPaymentView = z.infer<typeof merchantPaymentSchema>;
export declare const TERMINAL_STATUSES: readonly PaymentStatus[];
