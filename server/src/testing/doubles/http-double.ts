/**
 * Scaffolding for provider doubles: a real HTTP server on 127.0.0.1 that speaks a provider's wire
 * format, so the unchanged adapter talks to it through its base URL setting. Each double decides
 * the outcome from the phone number, like the sandbox, and counts the prompts it "delivered".
 */
import { request } from 'undici';
import Fastify, { type FastifyInstance } from 'fastify';
import { SANDBOX_RESULTS, SANDBOX_SCENARIOS, type SandboxScenario } from '../../providers/sandbox.js';

/** Test phone numbers (canonical) → what the simulated customer and provider do: the sandbox's, and two more. */
export type DoubleScenario =
  | SandboxScenario
  /** The push is answered 429 (spike arrest); no prompt goes out. */
  | 'throttled'
  /** The push is answered 500, yet the prompt was delivered and the customer pays. */
  | 'error_but_delivered';

const SCENARIOS: Record<string, DoubleScenario> = {
  ...SANDBOX_SCENARIOS,
  '254700000007': 'throttled',
  '254700000008': 'error_but_delivered',
};

/** The four failing test numbers and the failure code each must end with (for `it.each`). */
export const FAILURE_NUMBERS: [phone: string, code: 'cancelled' | 'insufficient_funds' | 'wrong_pin' | 'unreachable'][] = [
  ['0700000001', 'cancelled'],
  ['0700000002', 'insufficient_funds'],
  ['0700000003', 'wrong_pin'],
  ['0700000004', 'unreachable'],
];

/** Accepts any of the phone forms providers use (2547…, 07…, +2547…). */
export function scenarioFor(phone: string): DoubleScenario {
  const digits = phone.replace(/\D/g, '');
  const canonical = digits.startsWith('0') ? `254${digits.slice(1)}` : digits;
  return SCENARIOS[canonical] ?? 'paid';
}

/** Daraja result code and description of each final outcome. */
export const RESULT_OF: Record<Exclude<DoubleScenario, 'throttled'>, { code: number; desc: string }> = {
  ...SANDBOX_RESULTS,
  error_but_delivered: SANDBOX_RESULTS.paid,
};

export interface HttpDouble {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Starts a Fastify server on 127.0.0.1:0 with the double's routes. */
export async function startHttpDouble(register: (app: FastifyInstance) => void | Promise<void>): Promise<HttpDouble> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await register(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('double did not bind a TCP port');
  return { url: `http://127.0.0.1:${address.port}`, app, close: () => app.close() };
}

/** POSTs JSON and ignores the outcome, as a provider's webhook sender would (it may retry). */
export async function deliver(url: string, body: unknown, headers: Record<string, string> = {}): Promise<number | undefined> {
  try {
    // undici's request, as the relay's own provider client: benchmarks send hundreds a second from
    // the process that also holds thousands of SSE clients, and fetch's garbage shows there.
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return undefined;
  }
}

/** Timers a double schedules (callbacks), cleared when it closes. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(ms: number, work: () => unknown): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      void work();
    }, ms);
    this.pending.add(timer);
  }

  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
