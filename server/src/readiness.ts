/**
 * What `GET /readyz` checks: the store answers, and each configured provider's settings work
 * (`Provider.checkSettings`, a real authenticated call). Provider verdicts are kept for a while, so
 * a load balancer polling every second costs a provider one call per `cacheMs`, and polls that
 * arrive together share one call. A provider's check never holds a probe up once it has a verdict:
 * the probe gets the last one at once while the next check runs in the background (one at a time).
 * Only the very first check is waited for, at most `firstCheckMs` from its start; past that it
 * counts as no news (ready), as a provider that hangs is not the relay's fault.
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
  /** How long a provider's first check may hold the probes up, from its start. Default 1 s, within
   * an orchestrator's usual probe timeout (Kubernetes: 1 s). */
  firstCheckMs?: number;
  /** How long the store's check may take before it counts as not answering. Default 3 s. */
  storeTimeoutMs?: number;
  now?: () => number;
}

export class Readiness {
  /** When each provider's last check started, which the cache counts from. */
  private readonly checkedAt = new Map<Provider, number>();
  /** Each provider's check under way, which probes share: never more than one. */
  private readonly running = new Map<Provider, Promise<string | undefined>>();
  /** Each provider's verdict from the last check that finished, which stands while the next runs. */
  private readonly lastVerdicts = new Map<Provider, string | undefined>();
  private readonly cacheMs: number;
  private readonly firstCheckMs: number;
  private readonly storeTimeoutMs: number;
  private readonly now: () => number;
  /** Store checks failed in a row: an outage is logged when it starts and when it ends, not at
   * every probe (a balancer asks every few seconds). */
  private failedStoreChecks = 0;

  constructor(private readonly options: ReadinessOptions) {
    this.cacheMs = options.cacheMs ?? 30_000;
    this.firstCheckMs = options.firstCheckMs ?? 1_000;
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
    const lastStart = this.checkedAt.get(provider);
    let running = this.running.get(provider);
    if (!running && (lastStart === undefined || this.now() - lastStart >= this.cacheMs)) {
      this.checkedAt.set(provider, this.now());
      running = this.keep(provider, provider.checkSettings());
    }
    // A verdict in hand answers at once, however slow the next check is: a probe that waited for
    // a hanging provider would be given up by the balancer (and refused keys are not reported
    // usable meanwhile).
    if (this.lastVerdicts.has(provider) || !running) return this.lastVerdicts.get(provider);
    // The first check is waited for, but only so long from its start; then it is no news.
    const waitMs = (this.checkedAt.get(provider) ?? 0) + this.firstCheckMs - this.now();
    if (waitMs <= 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const noNews = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    try {
      return await Promise.race([running, noNews]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `check` as the provider's check under way; its verdict, once in, stands until the next one's. */
  private keep(provider: Provider, check: Promise<string | undefined>): Promise<string | undefined> {
    const verdict = check
      .catch((error: unknown) => {
        this.options.log.warn({ err: error, provider: provider.name }, 'readiness: provider settings check failed');
        return 'the settings check failed unexpectedly';
      })
      .then((found) => {
        this.lastVerdicts.set(provider, found);
        this.running.delete(provider);
        if (found) this.options.log.warn({ provider: provider.name, problem: found }, 'readiness: provider settings not usable');
        return found;
      });
    this.running.set(provider, verdict);
    return verdict;
  }
}
