/**
 * The relay's settings, from the environment (names fixed in DESIGN.md). A missing or malformed
 * setting stops start-up with one line naming the variable and what it expects.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/** The comma-separated entries of a list setting. */
const entries = (value: string): string[] => value.split(',').map((entry) => entry.trim()).filter(Boolean);

/** An entry of TRUST_PROXY as proxy-addr (Fastify's) reads it: an address, a CIDR, or a named range. */
function isProxyEntry(entry: string): boolean {
  if (entry === 'loopback' || entry === 'linklocal' || entry === 'uniquelocal') return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  // A prefix length, or an IPv4 netmask (10.0.0.0/255.0.0.0).
  return (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) || (family === 4 && isIP(bits) === 4);
}

const PROVIDERS = ['sandbox', 'intasend', 'kulmipay', 'upesipay', 'daraja'] as const;

// Digits only: `Number()` would take " " as 0 (a random port) and 1e3 as 1000.
const port = z
  .string()
  .regex(/^\d+$/, 'a port number')
  .transform(Number)
  .pipe(z.number().max(65535, 'a port from 0 to 65535'));

const perMinute = z.coerce.number({ error: 'a number of requests per minute' }).int('a whole number of requests per minute').min(1, 'at least 1 request per minute');

const envSchema = z.object({
  PORT: port.default(8787),
  HOST: z.string().min(1, 'a host name or address').default('127.0.0.1'),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'an absolute http(s) URL such as https://pay.example.com' }).optional(),
  STK_PAY_DB: z.string().min(1, 'a file path').default('./data/stk-pay.sqlite'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL such as postgres://user:password@host:5432/stk_pay')
    .optional(),
  STK_PAY_CONFIG: z.string().min(1, 'a path to the merchants JSON file').optional(),
  STK_PAY_PROVIDER: z.enum(PROVIDERS, { error: `one of ${PROVIDERS.join(', ')}` }).default('sandbox'),
  CALLBACK_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, '16 to 128 URL-safe characters (letters, digits, - and _)')
    .optional(),
  SANDBOX_DELAY_MS: z.coerce.number({ error: 'a number of milliseconds' }).int('whole milliseconds').min(0, 'at least 0').max(600_000, 'at most 600000').default(3_000),
  TRUST_PROXY: z
    .string()
    .refine((value) => value === 'true' || value === 'false' || entries(value).every(isProxyEntry), 'true, false, or proxy addresses/CIDRs (or loopback, linklocal, uniquelocal) separated by commas')
    .optional(),
  RATE_LIMIT_EXEMPT_IPS: z
    .string()
    .refine((value) => entries(value).every((entry) => isIP(entry) !== 0), 'client IP addresses separated by commas')
    .optional(),
  RATE_LIMIT_PER_IP: perMinute.default(60),
  RATE_LIMIT_PER_KEY: perMinute.default(600),
  RECONCILE_MAX_PER_SECOND: z.coerce.number({ error: 'a number of status queries per second' }).positive('more than 0 status queries per second').default(20),
  SANDBOX_ABUSE_RULES: z.enum(['on', 'off'], { error: 'on or off' }).default('off'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'fatal, error, warn, info, debug, trace or silent' }).default('info'),
});

export type RelayConfig = z.infer<typeof envSchema>;

/** TRUST_PROXY as Fastify's trustProxy option. */
export function trustProxyOption(value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  return value === 'true' || value === 'false' ? value === 'true' : value;
}

/** Settings whose values are secret, or may hold one (a password in a URL). */
const SECRET_SETTINGS = new Set(['DATABASE_URL', 'CALLBACK_TOKEN']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  // An empty variable counts as unset, as shells and .env files often leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    // Never a secret's value in the message: it ends up in a terminal, a log, a CI transcript.
    const shown = SECRET_SETTINGS.has(name) ? '' : ` (got ${JSON.stringify(present[name] ?? '')})`;
    throw new ConfigError(`${name} must be ${issue.message}${shown}`);
  }
  return parsed.data;
}
