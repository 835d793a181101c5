/**
 * What `GET /readyz` checks: the store answers, and each configured provider's settings work
 * (`Provider.checkSettings`, a real authenticated call). Provider verdicts are kept for a while, so
 * a load balancer polling every second costs a provider one call per `cacheMs`, and polls that
 * arrive together share one call. A check slower than `timeoutMs` does not hold the answer up: the
 * previous check's verdict stands until it finishes (with none before it, it counts as no news).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { MerchantRegistry } from './merchants.js';
import type { Provider } from './providers/types.js';
import type { PaymentStore } from './store/types.js';
import { withDeadline } from './deadline.js';

export type ReadinessVerdict = { ready: true; providers: string[] } | { ready: false; reason: string };

export interface ReadinessOptions {
  store: Pick<PaymentStore, 'ping'>;
  merchants: MerchantRegistry;
  log: FastifyBaseLogger;
  cacheMs?: number;
  timeoutMs?: number;
  /** How long the store's check may take before it counts as not answering. Default 3 s. */
  storeTimeoutMs?: number;
  now?: () => number;
}

interface CachedCheck {
  at: number;
  problem: Promise<string | undefined>;
}

export class Readiness {
  private readonly checks = new Map<Provider, CachedCheck>();
  /** Each provider's verdict from the last check that finished, which a late one leaves standing. */
  private readonly lastVerdicts = new Map<Provider, string | undefined>();
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private readonly storeTimeoutMs: number;
  private readonly now: () => number;
  /** Store checks failed in a row: an outage is logged when it starts and when it ends, not at
   * every probe (a balancer asks every few seconds). */
  private failedStoreChecks = 0;

  constructor(private readonly options: ReadinessOptions) {
    this.cacheMs = options.cacheMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.storeTimeoutMs = options.storeTimeoutMs ?? 3_000;
    this.now = options.now ?? Date.now;
  }

  async check(): Promise<ReadinessVerdict> {
    try {
      // A database that hangs (a stuck host, a partition that closes nothing) is one that does
      // not answer: the balancer hears so, rather than waiting with the probe.
      await withDeadline(this.options.store.ping(), this.storeTimeoutMs, 'the store did not answer in time');
    } catch (error) {
      // The driver's words go to the log only: they can name hosts and users.
      if (this.failedStoreChecks++ === 0) {
        this.options.log.warn({ err: error }, 'readiness: the store does not answer or cannot write; logged again once it does');
      }
      return { ready: false, reason: 'the store (database) does not answer or cannot write' };
    }
    if (this.failedStoreChecks > 0) {
      this.options.log.info({ failedChecks: this.failedStoreChecks }, 'readiness: the store answers again');
      this.failedStoreChecks = 0;
    }
    const providers = this.options.merchants.providers();
    const problems = await Promise.all(providers.map((provider) => this.providerProblem(provider)));
    const reasons = providers.flatMap((provider, i) => {
      const problem = problems[i];
      if (problem === undefined) return [];
      const merchants = this.options.merchants.merchants.filter((merchant) => merchant.provider === provider).map((merchant) => merchant.id);
      return [`provider ${provider.name} (merchant ${merchants.join(', ')}): ${problem}`];
    });
    if (reasons.length > 0) return { ready: false, reason: reasons.join('; ') };
    return { ready: true, providers: [...new Set(providers.map((provider) => provider.name))] };
  }

  private async providerProblem(provider: Provider): Promise<string | undefined> {
    if (!provider.checkSettings) return undefined;
    let cached = this.checks.get(provider);
    if (!cached || this.now() - cached.at >= this.cacheMs) {
      const problem = provider.checkSettings().catch((error: unknown) => {
        this.options.log.warn({ err: error, provider: provider.name }, 'readiness: provider settings check failed');
        return 'the settings check failed unexpectedly';
      });
      cached = { at: this.now(), problem };
      this.checks.set(provider, cached);
      void problem.then((found) => {
        this.lastVerdicts.set(provider, found);
        if (found) this.options.log.warn({ provider: provider.name, problem: found }, 'readiness: provider settings not usable');
      });
    }
    let timer: NodeJS.Timeout | undefined;
    // A late check does not hold the answer up: the last verdict stands until it finishes (none
    // yet: no news), so a refused key is not reported usable while its next check is slow.
    const late = new Promise<string | undefined>((resolve) => (timer = setTimeout(() => resolve(this.lastVerdicts.get(provider)), this.timeoutMs)));
    try {
      return await Promise.race([cached.problem, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
