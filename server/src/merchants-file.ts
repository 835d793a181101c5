/**
 * The merchants file (`STK_PAY_CONFIG`): several merchants in one relay, each with its keys,
 * origins, provider, amount policy and webhook. JSON, validated with zod; secrets are written as
 * `${ENV_NAME}` references so the file itself can be committed. Any problem stops start-up with
 * one line naming the field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MAX_PAYMENT_AMOUNT } from './api/schemas.js';
import { ConfigError } from './config.js';
import { DEFAULT_AMOUNT_POLICY, type Merchant } from './merchants.js';
import { PROVIDER_NAMES, providerFromEnv } from './providers/index.js';
import type { Env } from './providers/settings.js';
import { webhookTarget } from './webhooks/deliverer.js';

function usableUserinfo(url: string): boolean {
  try {
    webhookTarget(url);
    return true;
  } catch {
    return false;
  }
}

const origin = z
  .string()
  .refine((value) => value === 'self' || (/^https?:\/\/[^/\s]+$/.test(value) && URL.canParse(value)), 'must be an origin like https://shop.example (no path), or self')
  // As a browser sends it in `Origin`: the host in lower case, without the scheme's default port.
  .transform((value) => (value === 'self' ? value : new URL(value).origin));

const amount = z.number().int('must be whole shillings').positive('must be at least 1').max(MAX_PAYMENT_AMOUNT, `must be at most ${MAX_PAYMENT_AMOUNT}`);

const merchantSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1 to 40 lowercase letters, digits, - or _'),
  name: z.string().min(1).max(100),
  publishableKeys: z.array(z.string().regex(/^pk_[A-Za-z0-9_]{8,}$/, 'must look like pk_ followed by at least 8 letters or digits')).min(1),
  secretKeys: z.array(z.string().regex(/^sk_[A-Za-z0-9_-]{16,}$/, 'must look like sk_ followed by at least 16 letters or digits')).min(1),
  allowedOrigins: z.array(origin).default([]),
  provider: z.strictObject({
    name: z.enum(PROVIDER_NAMES),
    /** The provider's settings by their environment names (e.g. INTASEND_SECRET_KEY). */
    settings: z.record(z.string(), z.string()).default({}),
  }),
  amount: z
    .strictObject({
      min: amount.default(DEFAULT_AMOUNT_POLICY.min),
      max: amount.default(DEFAULT_AMOUNT_POLICY.max),
      allowed: z.array(amount).min(1).optional(),
      requireToken: z.boolean().default(false),
    })
    .refine((policy) => policy.min <= policy.max, { message: 'min must not be above max', path: ['min'] })
    .default({ min: DEFAULT_AMOUNT_POLICY.min, max: DEFAULT_AMOUNT_POLICY.max, requireToken: false }),
  webhookUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    // Its user and password become Basic authorization, decoded: a % that starts no escape
    // (`50%off`) would fail every delivery.
    .refine((url) => usableUserinfo(url), 'its user or password has a % that starts no escape: write % as %25')
    .optional(),
});

const fileSchema = z.strictObject({
  merchants: z.array(merchantSchema).min(1, 'must list at least one merchant'),
});

export type MerchantsFile = z.infer<typeof fileSchema>;

function fieldPath(path: PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
}

/** Replaces `${NAME}` in every string with the environment variable, or fails naming both. */
function substitute(value: unknown, env: Env, path: PropertyKey[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') throw new ConfigError(`STK_PAY_CONFIG: ${fieldPath(path)} refers to \${${name}}, which is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, env, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, env, [...path, key])]));
  }
  return value;
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Where `text` stops being JSON: the offset of the first character that cannot stand there (the
 * length when it ends too early; -1 when it is JSON). JSON.parse's own message quotes the file around the fault (a
 * secret key, before a stray comma), and Node 20's gives no position for most faults.
 */
export function jsonFaultOffset(text: string): number {
  let at = 0;
  const space = () => {
    while (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r') at++;
  };
  const take = (char: string): boolean => {
    if (text[at] !== char) return false;
    at++;
    return true;
  };
  const token = (pattern: RegExp): boolean => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  const value = (): boolean => {
    space();
    const char = text[at];
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      at++;
      space();
      if (take(close)) return true;
      do {
        if (close === '}') {
          space();
          if (!token(STRING)) return false;
          space();
          if (!take(':')) return false;
        }
        if (!value()) return false;
        space();
      } while (take(','));
      return take(close);
    }
    if (char === '"') return token(STRING);
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return token(NUMBER);
    const word = ['true', 'false', 'null'].find((literal) => text.startsWith(literal, at));
    if (word === undefined) return false;
    at += word.length;
    return true;
  };
  if (value()) {
    space();
    if (at === text.length) return -1;
  }
  return at;
}

/** "line L, column C" (both from 1) of an offset in `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** Reads, checks and builds the merchants (with their providers) from the file at `path`. */
export function loadMerchantsFile(path: string, env: Env): Merchant[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`STK_PAY_CONFIG: cannot read ${path}: ${reason}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Only where: the parser's words quote the file, secrets and all, over several lines.
    const offset = jsonFaultOffset(text);
    throw new ConfigError(`STK_PAY_CONFIG: cannot read ${path}: not valid JSON${offset < 0 ? '' : ` at ${lineAndColumn(text, offset)}`}`);
  }
  const parsed = fileSchema.safeParse(substitute(raw, env, []));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    throw new ConfigError(`STK_PAY_CONFIG: ${fieldPath(issue.path) || 'file'}: ${issue.message}${keys}`);
  }
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  return parsed.data.merchants.map((entry, index) => {
    const where = `merchants[${index}]`;
    if (seenIds.has(entry.id)) throw new ConfigError(`STK_PAY_CONFIG: ${where}.id: "${entry.id}" is used twice`);
    seenIds.add(entry.id);
    for (const key of [...entry.publishableKeys, ...entry.secretKeys]) {
      if (seenKeys.has(key)) throw new ConfigError(`STK_PAY_CONFIG: ${where}: a key is used twice (each key belongs to one merchant)`);
      seenKeys.add(key);
    }
    if (entry.amount.allowed?.some((value) => value < entry.amount.min || value > entry.amount.max)) {
      throw new ConfigError(`STK_PAY_CONFIG: ${where}.amount.allowed: every amount must lie between min and max`);
    }
    let provider;
    try {
      // The sandbox's customer delay and abuse rules are relay-wide settings.
      const settings =
        entry.provider.name === 'sandbox'
          ? { SANDBOX_DELAY_MS: env['SANDBOX_DELAY_MS'], SANDBOX_ABUSE_RULES: env['SANDBOX_ABUSE_RULES'], ...entry.provider.settings }
          : entry.provider.settings;
      // Which settings the adapter reads: any other one in the file is a slip (a misspelt name is
      // otherwise ignored, and the provider runs on its default).
      const read = new Set<string>();
      provider = providerFromEnv(
        entry.provider.name,
        new Proxy(settings, {
          get(target, key) {
            if (typeof key === 'string') read.add(key);
            return Reflect.get(target, key) as unknown;
          },
        }),
      );
      const unknown = Object.keys(entry.provider.settings).filter((name) => !read.has(name));
      if (unknown.length > 0) {
        const known = [...read].filter((name) => name.toUpperCase() === name).sort().join(', ');
        throw new ConfigError(`${unknown.join(', ')}: not a setting of ${entry.provider.name} (its settings: ${known})`);
      }
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`STK_PAY_CONFIG: ${where}.provider.settings: ${error.message}`);
      throw error;
    }
    const merchant: Merchant = {
      id: entry.id,
      name: entry.name,
      publishableKeys: entry.publishableKeys,
      secretKeys: entry.secretKeys,
      allowedOrigins: entry.allowedOrigins,
      provider,
      amount: { min: entry.amount.min, max: entry.amount.max, requireToken: entry.amount.requireToken, ...(entry.amount.allowed ? { allowed: entry.amount.allowed } : {}) },
      ...(entry.webhookUrl ? { webhookUrl: entry.webhookUrl } : {}),
    };
    return merchant;
  });
}
