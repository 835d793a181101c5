/**
 * One error handler for the whole relay: every failure leaves as the documented
 * `{ error: { code, message, details? } }` body with the right status, never a stack or a raw
 * provider message.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { invalidField, RelayError, type ErrorDetail, type RelayErrorName } from './errors.js';

/** Fastify's own client errors, by code. */
const FASTIFY_CLIENT_ERRORS: Record<string, RelayErrorName> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'RELAY_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RELAY_ERR_UNSUPPORTED_MEDIA',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RELAY_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RELAY_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'RELAY_ERR_INVALID_REQUEST',
};

function fieldName(context: string | undefined, instancePath: string, params: Record<string, unknown>): string[] {
  const path = instancePath.replace(/^\//, '').replace(/\//g, '.');
  const keys = Array.isArray(params['keys']) ? (params['keys'] as string[]) : [];
  const base = context && context !== 'body' ? `${context}${path ? '.' : ''}${path}` : path;
  if (keys.length > 0) return keys.map((key) => (base ? `${base}.${key}` : key));
  return [base || (context ?? 'body')];
}

/**
 * SQLite's and PostgreSQL's codes for a store that cannot take writes now (a full disk, a file or
 * role made read-only, an I/O error, a lost connection): the relay is unavailable, not broken.
 * PostgreSQL's by SQLSTATE class: 08 the connection; 28 the role may not log in (NOLOGIN, a
 * rotated password); 3D000 the database gone or renamed; 42501 a privilege revoked; 53 out of
 * disk, memory or connections (not 53400, a limit a query of ours hit); 57 an operator or a
 * crash (shutdown, a cancelled or timed-out statement, a dropped database); 25006 a standby.
 */
const STORE_UNAVAILABLE =
  /^(SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY)(_[A-Z_]+)?|08[0-9A-Z]{3}|28[0-9A-Z]{3}|3D000|42501|53[0-3]00|57[0-9A-Z]{3}|25006|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;

/** pg's own errors for a connection lost or a query given up on: they carry no code. */
const PG_CONNECTION_LOST = /^(Connection terminated|Query read timeout|timeout exceeded when trying to connect)/;

/** Whether an error, or one that caused it, says the store cannot take writes now. */
function storeUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const { code } = cause as { code?: unknown };
    if (typeof code === 'string' && STORE_UNAVAILABLE.test(code)) return true;
    if (code === undefined && PG_CONNECTION_LOST.test(cause.message)) return true;
  }
  return false;
}

export function toRelayError(error: FastifyError): RelayError {
  if (error instanceof RelayError) return error;
  if (storeUnavailable(error)) return new RelayError('RELAY_ERR_UNAVAILABLE', { message: 'The payment service cannot record payments right now. Please try again in a moment.', headers: { 'retry-after': '5' } });
  if (hasZodFastifySchemaValidationErrors(error)) {
    const details: ErrorDetail[] = error.validation.flatMap((issue) =>
      fieldName(error.validationContext, issue.instancePath, issue.params as Record<string, unknown>).map((field) => ({
        field,
        message: issue.keyword === 'unrecognized_keys' ? 'is not a known field' : (issue.message ?? 'is not valid'),
      })),
    );
    const first = details[0];
    return new RelayError('RELAY_ERR_INVALID_REQUEST', {
      message: first ? `${first.field}: ${first.message}` : 'The request is not valid.',
      details,
    });
  }
  const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
  if (known) return new RelayError(known);
  if (error.code === 'FST_ERR_BAD_URL') return invalidField('url', 'is not a valid URL (a malformed % escape)');
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new RelayError('RELAY_ERR_MALFORMED_JSON');
  }
  if (error.statusCode === 406) return new RelayError('RELAY_ERR_INVALID_REQUEST', { message: 'This route answers text/event-stream only.' });
  if (error.statusCode === 429) return new RelayError('RELAY_ERR_RATE_LIMITED');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new RelayError('RELAY_ERR_INVALID_REQUEST', { message: 'The request is not valid.' });
  }
  return new RelayError('RELAY_ERR_INTERNAL');
}

/**
 * Fastify's `clientErrorHandler`: a request Node could not read as HTTP (an unknown method,
 * conflicting framing), too slow (408) or with headers too large (431) gets the documented body
 * too, not Fastify's own; written straight to the socket, as Node and Fastify do.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are too large.']
        : [400, 'invalid_request', 'The request could not be read as HTTP.'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const relayError = toRelayError(error);
    // Unavailable for now (the store out of reach, a shutdown): a line per request, not a stack.
    if (relayError.statusCode === 503) request.log.warn({ reason: error.message }, 'request answered 503: unavailable for now');
    else if (relayError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: relayError.code, status: relayError.statusCode }, relayError.message);
    return reply.code(relayError.statusCode).headers(relayError.headers).send(relayError.toBody());
  });
  app.setNotFoundHandler((_request, reply) => {
    const relayError = new RelayError('RELAY_ERR_ROUTE_NOT_FOUND');
    return reply.code(404).send(relayError.toBody());
  });
}
