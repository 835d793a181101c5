/**
 * Starts a real relay on 127.0.0.1 (random port) with a throw-away SQLite file, for tests of the
 * widget, the bot and the end-to-end suite. Same buildApp as production; nothing is faked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../app.js';

export interface StartedRelay {
  url: string;
  app: FastifyInstance;
  dbPath: string;
  close(): Promise<void>;
}

export interface StartRelayOptions extends Partial<AppOptions> {
  /** Extra browser origins the demo merchant accepts (e.g. the test runner's page origin). */
  allowedOrigins?: string[];
  /** A fixed port (a restart on the same address); default a free one. */
  port?: number;
}

export async function startRelay(options: StartRelayOptions = {}): Promise<StartedRelay> {
  const dir = options.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'stk-pay-relay-'));
  const dbPath = options.dbPath ?? join(dir!, 'stk-pay.sqlite');
  const app = await buildApp({
    dbPath,
    sandboxDelayMs: 300,
    logger: false,
    // No last second for idle keep-alive connections at close (the clients' fetch pools keep
    // theirs): a second per test. The shutdown tests ask for the real one.
    idleGraceMs: 0,
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('relay did not bind a TCP port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    dbPath,
    async close() {
      await app.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
