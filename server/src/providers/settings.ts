/**
 * Reading a provider's settings from the environment. Each adapter lists what it needs; a
 * missing or malformed one stops start-up with one line naming the variable and what it expects.
 */
import { ConfigError } from '../config.js';

export type Env = Record<string, string | undefined>;

export interface SettingSpec {
  /** What the operator should put there, e.g. "the secret key from the IntaSend dashboard (ISSecretKey_…)". */
  expects: string;
  default?: string;
  /** Checks the value; returns false to refuse it. */
  valid?: (value: string) => boolean;
  /** A secret: a refused value is never repeated in the error (it would reach logs). */
  secret?: boolean;
}

/** Returns every named setting, or throws ConfigError for the first one missing or invalid. */
export function readSettings<K extends string>(env: Env, specs: Record<K, SettingSpec>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const name of Object.keys(specs) as K[]) {
    const spec = specs[name];
    const raw = env[name];
    const value = raw === undefined || raw.trim() === '' ? spec.default : raw.trim();
    if (value === undefined) throw new ConfigError(`${name} is missing: set it to ${spec.expects}`);
    if (spec.valid && !spec.valid(value)) {
      throw new ConfigError(`${name} must be ${spec.expects}${spec.secret ? '' : ` (got ${JSON.stringify(raw)})`}`);
    }
    out[name] = value;
  }
  return out;
}

/** Validators shared by the adapters. */
export const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

export const isDigits = (value: string): boolean => /^\d+$/.test(value);
