/**
 * The providers a merchant can choose, by the names DESIGN.md fixes. Each factory reads and
 * checks its own settings, so a relay never starts half-configured.
 */
import { ConfigError } from '../config.js';
import { darajaFromEnv } from './daraja.js';
import { intasendFromEnv, kulmipayFromEnv } from './intasend.js';
import { SandboxProvider } from './sandbox.js';
import { readSettings, type Env } from './settings.js';
import type { Provider } from './types.js';
import { upesipayFromEnv } from './upesipay.js';

export const PROVIDER_NAMES = ['sandbox', 'intasend', 'kulmipay', 'upesipay', 'daraja'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

type Factory = (env: Env) => Provider;

const FACTORIES: Partial<Record<ProviderName, Factory>> = {
  sandbox: (env) => {
    // Checked here too: a merchants file sets them for its sandbox merchant, past the relay's own checks.
    const settings = readSettings(env, {
      SANDBOX_DELAY_MS: { expects: 'a whole number of milliseconds from 0 to 600000', default: '3000', valid: (value) => /^\d+$/.test(value) && Number(value) <= 600_000 },
      SANDBOX_ABUSE_RULES: { expects: 'on or off', default: 'off', valid: (value) => value === 'on' || value === 'off' },
    });
    return new SandboxProvider({ delayMs: Number(settings.SANDBOX_DELAY_MS), abuseProtection: settings.SANDBOX_ABUSE_RULES === 'on' });
  },
  // providers: one line each below (keep this marker)
  upesipay: upesipayFromEnv,
  intasend: intasendFromEnv,
  kulmipay: kulmipayFromEnv,
  daraja: darajaFromEnv,
};

/** The provider named `name`, configured from `env`; throws ConfigError naming what is missing. */
export function providerFromEnv(name: ProviderName, env: Env): Provider {
  const factory = FACTORIES[name];
  if (!factory) throw new ConfigError(`STK_PAY_PROVIDER=${name} is not available in this build; use one of ${Object.keys(FACTORIES).join(', ')}`);
  return factory(env);
}
