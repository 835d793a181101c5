/** The relay as a library: build it, or reuse its parts. */
export { buildApp, demoMerchant, type AppOptions } from './app.js';
export { loadConfig, type RelayConfig } from './config.js';
export { normalizePhone, maskPhone } from './phone.js';
export type { PaymentView, CreatePaymentBody, ErrorBody, FailureCode, PaymentStatus } from './api/schemas.js';
export * from './merchant-kit.js';
