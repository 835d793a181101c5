/**
 * M-Pesa Express (Daraja) result codes, which every Kenyan aggregator passes through, mapped to
 * our failure codes. One switch with an explicit default, so an unknown code is never mistaken
 * for a known outcome.
 */
import type { ProviderStatus } from './types.js';

export function statusFromResultCode(resultCode: number, resultDesc: string | undefined): ProviderStatus {
  const message = resultDesc?.trim() || `M-Pesa result ${resultCode}`;
  switch (resultCode) {
    case 0:
      return { status: 'succeeded' };
    case 4999:
      // Reported by integrators from the STK query ("The transaction is still under processing"):
      // no answer yet, so never a failure.
      return { status: 'pending' };
    case 1032:
      return { status: 'failed', code: 'cancelled', message };
    case 1:
      return { status: 'failed', code: 'insufficient_funds', message };
    case 2001:
      return { status: 'failed', code: 'wrong_pin', message };
    case 1037:
      return { status: 'failed', code: 'unreachable', message };
    case 1019:
      return { status: 'failed', code: 'timeout', message };
    case 2:
    case 3:
    case 4:
    // The merchant's till or paybill is over its balance limit: nothing the customer can mend.
    case 8:
    case 17:
    case 1001:
    case 2028:
      return { status: 'failed', code: 'rejected', message };
    case 26:
    case 1025:
    case 9999:
      return { status: 'failed', code: 'provider_error', message };
    default:
      return { status: 'failed', code: 'provider_error', message };
  }
}
