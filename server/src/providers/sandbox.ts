/**
 * The sandbox provider: the embedded default, no keys. It behaves as a remote M-Pesa provider
 * would. The outcome follows from the test phone number; the answer arrives as a Daraja-shaped
 * callback POSTed over HTTP to the relay's callback route, and from the status query. Both derive
 * the outcome from the reference alone (scenario and push time are encoded in it), so a relay
 * restart loses nothing: the reconciler simply asks again.
 *
 * | phone        | outcome                                              |
 * | 0708374149   | paid, with a receipt (and any number not below)      |
 * | 0700000001   | cancelled by the customer (1032)                     |
 * | 0700000002   | insufficient funds (1)                               |
 * | 0700000003   | wrong PIN (2001)                                     |
 * | 0700000004   | phone unreachable, no answer (1037)                  |
 * | 0700000005   | no callback ever: only the status query says paid    |
 * | 0700000006   | paid, and the callback arrives twice                 |
 */
import { createHash } from 'node:crypto';
import { randomBytesFromPool } from '../random.js';
import { parseStkCallback, type StkCallbackBody } from './daraja-callback.js';
import { ProviderHttpError, requestJson } from './http.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import { kenyaTimestamp } from './mpesa-time.js';
import type { CallbackInput, ParsedCallback, Provider, ProviderStatus, PushRequest, PushResult } from './types.js';

export type SandboxScenario = 'paid' | 'cancelled' | 'insufficient' | 'wrong_pin' | 'unreachable' | 'silent' | 'twice';
type Scenario = SandboxScenario;

/** The fixed test numbers (canonical) of DESIGN.md; the provider doubles use them too. */
export const SANDBOX_SCENARIOS: Record<string, Scenario> = {
  '254700000001': 'cancelled',
  '254700000002': 'insufficient',
  '254700000003': 'wrong_pin',
  '254700000004': 'unreachable',
  '254700000005': 'silent',
  '254700000006': 'twice',
};

/** The M-Pesa result code and text of each outcome. */
export const SANDBOX_RESULTS: Record<Scenario, { code: number; desc: string }> = {
  paid: { code: 0, desc: 'The service request is processed successfully.' },
  silent: { code: 0, desc: 'The service request is processed successfully.' },
  twice: { code: 0, desc: 'The service request is processed successfully.' },
  cancelled: { code: 1032, desc: 'Request cancelled by user' },
  insufficient: { code: 1, desc: 'The balance is insufficient for the transaction' },
  wrong_pin: { code: 2001, desc: 'The initiator information is invalid.' },
  unreachable: { code: 1037, desc: 'DS timeout user cannot be reached' },
};

export interface SandboxOptions {
  /** How long the simulated customer takes to answer the prompt. */
  delayMs: number;
  /** Apply the relay's abuse rules as for a real provider (default false: developers repeat test numbers). */
  abuseProtection?: boolean;
  /** Sends the callback; defaults to a JSON POST. Errors are the relay's problem, as with a real provider. */
  post?: (url: string, body: unknown) => Promise<void>;
  now?: () => number;
}

/** The callback, on the provider adapters' own HTTP client; a refusal is an error like any other. */
async function postJson(url: string, body: unknown): Promise<void> {
  await requestJson({ method: 'POST', url, body, timeoutMs: 10_000 });
}

/** `ws_CO_SBX_<push time, base36>_<scenario>_<random>`: everything the sandbox needs to answer later. */
function makeRef(pushedAt: number, scenario: Scenario): string {
  return `ws_CO_SBX_${pushedAt.toString(36)}_${scenario}_${randomBytesFromPool(6).toString('hex')}`;
}

function readRef(ref: string): { pushedAt: number; scenario: Scenario } | undefined {
  const match = /^ws_CO_SBX_([0-9a-z]+)_([a-z_]+)_[0-9a-f]{12}$/.exec(ref);
  if (!match || !(match[2]! in SANDBOX_RESULTS)) return undefined;
  return { pushedAt: parseInt(match[1]!, 36), scenario: match[2] as Scenario };
}

/** Ten characters like a real M-Pesa receipt (e.g. `NLJ7RT61SV`), the same every time for a ref. */
export function sandboxReceipt(ref: string): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  const digest = createHash('sha256').update(ref).digest();
  let receipt = 'T';
  for (let i = 0; receipt.length < 10; i++) receipt += alphabet[digest[i]! % alphabet.length];
  return receipt;
}

export class SandboxProvider implements Provider {
  readonly name = 'sandbox';
  readonly signedCallbacks = false;
  readonly abuseProtection: boolean;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly post: (url: string, body: unknown) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SandboxOptions) {
    this.post = options.post ?? postJson;
    this.abuseProtection = options.abuseProtection ?? false;
    this.now = options.now ?? Date.now;
  }

  async requestPayment(request: PushRequest): Promise<PushResult> {
    const scenario = SANDBOX_SCENARIOS[request.phone] ?? 'paid';
    const ref = makeRef(this.now(), scenario);
    if (scenario !== 'silent') {
      const body = this.callbackBody(ref, scenario, request);
      this.later(this.options.delayMs, () => this.post(request.callbackUrl, body));
      if (scenario === 'twice') this.later(this.options.delayMs + 150, () => this.post(request.callbackUrl, body));
    }
    return { kind: 'accepted', providerRef: ref };
  }

  async queryStatus(providerRef: string): Promise<ProviderStatus> {
    const parsed = readRef(providerRef);
    // Not an answer about a payment (another provider's reference): never a final state.
    if (!parsed) throw new ProviderHttpError('refused', 'the sandbox does not know this request', 404);
    if (this.now() - parsed.pushedAt < this.options.delayMs) return { status: 'pending' };
    const result = SANDBOX_RESULTS[parsed.scenario];
    const status = statusFromResultCode(result.code, result.desc);
    return status.status === 'succeeded' ? { status: 'succeeded', receipt: sandboxReceipt(providerRef) } : status;
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    const parsed = parseStkCallback(input.body);
    if (parsed.kind === 'status' && !readRef(parsed.providerRef)) return { kind: 'reject', reason: 'not a sandbox reference' };
    return parsed;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private later(delayMs: number, send: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A lost callback is what real providers do too; the relay's reconciler recovers it.
      send().catch(() => undefined);
    }, delayMs);
    this.timers.add(timer);
  }

  private callbackBody(ref: string, scenario: Scenario, request: PushRequest): StkCallbackBody {
    const result = SANDBOX_RESULTS[scenario];
    const stkCallback: StkCallbackBody['Body']['stkCallback'] = {
      MerchantRequestID: `SBX-${request.paymentId.slice(4, 14)}`,
      CheckoutRequestID: ref,
      ResultCode: result.code,
      ResultDesc: result.desc,
    };
    if (result.code === 0) {
      stkCallback.CallbackMetadata = {
        Item: [
          { Name: 'Amount', Value: request.amount },
          { Name: 'MpesaReceiptNumber', Value: sandboxReceipt(ref) },
          { Name: 'TransactionDate', Value: Number(kenyaTimestamp(this.now() + this.options.delayMs)) },
          { Name: 'PhoneNumber', Value: Number(request.phone) },
        ],
      };
    }
    return { Body: { stkCallback } };
  }
}
