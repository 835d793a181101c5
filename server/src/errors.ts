/**
 * Every error the relay answers with, in one table: a stable code for programs, an HTTP status,
 * and a message for people. Provider errors are mapped to these, never echoed raw.
 */
export const RELAY_ERRORS = {
  RELAY_ERR_INVALID_REQUEST: { status: 400, code: 'invalid_request', message: 'The request is not valid.' },
  RELAY_ERR_MALFORMED_JSON: { status: 400, code: 'invalid_request', message: 'The body is not valid JSON.' },
  RELAY_ERR_UNSUPPORTED_MEDIA: { status: 415, code: 'unsupported_media_type', message: 'Send the body as application/json.' },
  RELAY_ERR_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'The body is too large.' },
  RELAY_ERR_UNAUTHORIZED: { status: 401, code: 'unauthorized', message: 'A valid publishable key is required (X-Publishable-Key).' },
  RELAY_ERR_FORBIDDEN_ORIGIN: { status: 403, code: 'forbidden_origin', message: 'This website is not allowed to take payments for this merchant.' },
  RELAY_ERR_NOT_FOUND: { status: 404, code: 'not_found', message: 'No such payment.' },
  RELAY_ERR_ROUTE_NOT_FOUND: { status: 404, code: 'not_found', message: 'No such route.' },
  RELAY_ERR_IDEMPOTENCY_CONFLICT: { status: 409, code: 'idempotency_conflict', message: 'This Idempotency-Key was already used with a different request.' },
  RELAY_ERR_AMOUNT_POLICY: { status: 400, code: 'invalid_request', message: 'The amount is outside what this merchant accepts.' },
  RELAY_ERR_RATE_LIMITED: { status: 429, code: 'rate_limited', message: 'Too many requests. Please wait a moment and try again.' },
  RELAY_ERR_CALLBACK_REJECTED: { status: 403, code: 'callback_rejected', message: 'Callback refused.' },
  RELAY_ERR_UNAVAILABLE: { status: 503, code: 'unavailable', message: 'The payment service is restarting. Please try again in a moment.' },
  RELAY_ERR_INTERNAL: { status: 500, code: 'internal', message: 'Something went wrong on our side. No payment was made twice; please try again.' },
} as const;

export type RelayErrorName = keyof typeof RELAY_ERRORS;

export interface ErrorDetail {
  field: string;
  message: string;
}

export class RelayError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string>;

  constructor(name: RelayErrorName, options: { message?: string; details?: ErrorDetail[]; headers?: Record<string, string>; code?: string } = {}) {
    const entry = RELAY_ERRORS[name];
    super(options.message ?? entry.message);
    this.name = name;
    this.statusCode = entry.status;
    // A finer code within the same kind of error (e.g. which abuse rule answered 429).
    this.code = options.code ?? entry.code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toBody(): { error: { code: string; message: string; details?: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** One field at fault, as a 400. */
export function invalidField(field: string, message: string): RelayError {
  return new RelayError('RELAY_ERR_INVALID_REQUEST', { message: `${field}: ${message}`, details: [{ field, message }] });
}
