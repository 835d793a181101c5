/**
 * The provider for benchmarks that time callbacks: the Daraja double with an on-demand customer
 * (the benchmark says when each one answers), and the settings that point the relay's unchanged
 * Daraja adapter at it.
 */
import { darajaSettings, startDarajaDouble, type DarajaDouble } from '../../server/src/testing/doubles/daraja.js';

const DARAJA = { consumerKey: 'bench-consumer-key', consumerSecret: 'bench-consumer-secret', shortcode: '174379', passkey: 'bench-passkey' };

export function startOnDemandDaraja(): Promise<DarajaDouble> {
  return startDarajaDouble({ ...DARAJA, delayMs: 'on-demand', keepRequests: false });
}

/** Relay settings: the Daraja adapter talking to `double`, the database at `dbPath`. */
export function darajaRelaySettings(double: DarajaDouble, dbPath: string): Record<string, string> {
  return {
    STK_PAY_DB: dbPath,
    STK_PAY_PROVIDER: 'daraja',
    ...darajaSettings(double.url, DARAJA),
    RATE_LIMIT_PER_KEY: '1000000000',
    RATE_LIMIT_PER_IP: '1000000000',
    // Loopback is exempt from the per-IP limit by default: exempt another address, so the limit
    // is checked on every request as for a deployed relay's customers.
    RATE_LIMIT_EXEMPT_IPS: '192.0.2.1',
  };
}
