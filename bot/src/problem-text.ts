/** A relay refusal or outage, in words the customer can act on. */
import type { Strings } from './i18n.js';
import type { Logger } from './logger.js';
import type { Checkout, RelayProblem } from './relay-client.js';

export interface ProblemText {
  text: string;
  /** Pressing the same button again may work (relay down, a wait); otherwise the terms are wrong. */
  retryable: boolean;
}

/** `atPay`: the customer pressed Pay (which they may press again), rather than typed a command. */
export function problemText(problem: RelayProblem, checkout: Checkout, t: Strings, log: Logger, atPay = false): ProblemText {
  if (problem.kind === 'unreachable') {
    log.warn('the relay is not answering', { detail: problem.detail });
    return { text: atPay ? t.relayDownAtPay : t.relayDown, retryable: true };
  }
  if (problem.status === 429) return { text: t.tooMany(problem.code, problem.message, problem.retryAfterSeconds), retryable: true };
  if (problem.status === 401 || problem.status === 403) {
    log.error('the relay refused the publishable key (BOT_PUBLISHABLE_KEY)', { code: problem.code });
    return { text: t.keyRefused, retryable: false };
  }
  const detail = problem.fieldMessage ?? problem.message;
  switch (problem.field) {
    case 'amount':
      return { text: t.amountRefused(detail), retryable: false };
    case 'token':
      return { text: checkout.token ? t.linkRefused(detail) : t.linksOnly, retryable: false };
    case 'reference':
      return { text: t.referenceRefused(detail), retryable: false };
    default:
      log.error('the relay refused a payment request', { status: problem.status, code: problem.code, message: problem.message });
      return { text: t.somethingWrong, retryable: false };
  }
}
