export declare const SIGNATURE_HEADER = "stk-pay-signature";
export declare const EVENT_ID_HEADER = "stk-pay-event-id";
export declare function signWebhook(rawBody: string, secretKey: string, timestampSeconds: number): string;
export interface WebhookEvent {
    /** `evt_…`: the same on every retry of one event; dedupe on it. */
    id: string;
    type: 'payment.succeeded' | 'payment.failed';
    createdAt: string;
    /** The payment as the merchant API returns it (full phone number). */
    data: Record<string, unknown> & {
        id: string;
        status: string;
        amount: number;
    };
}
export type WebhookVerdict = {
    ok: true;
    event: WebhookEvent;
} | {
    ok: false;
    reason: string;
};
/**
 * Checks a webhook: the signature over the raw body (as received, before any JSON parsing) with
 * any of the merchant's secret keys, and a timestamp within `toleranceSeconds` (default 5
 * minutes) so a captured request cannot be replayed later.
 */
export declare function verifyWebhook(rawBody: string | Buffer, signatureHeader: string | undefined, secretKey: string | string[], options?: {
    toleranceSeconds?: number;
    now?: Date;
}): WebhookVerdict;
