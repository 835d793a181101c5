/**
 * What a merchant's own Node server needs, without the relay: sign checkout tokens and verify the
 * relay's webhooks. `import { createCheckoutToken, verifyWebhook } from '@stk-pay/server/merchant'`.
 */
export { createCheckoutToken, verifyCheckoutToken, type CheckoutClaims, type CreateCheckoutTokenInput } from './checkout-token.js';
export { verifyWebhook, signWebhook, SIGNATURE_HEADER, EVENT_ID_HEADER, type WebhookEvent, type WebhookVerdict } from './webhooks/signature.js';
