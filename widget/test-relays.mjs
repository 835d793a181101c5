// The real relays the widget's browser tests talk to, started with web-test-runner's dev server and
// stopped with it, and the server commands tests use to drive them (`executeServerCommand`).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as forward } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/** The reconciler asks the provider every 300 ms while the prompt is open (default: seconds). */
const FAST_CHECKS = { checkSchedule: { promptWindowMs: 300 }, reconcileTickMs: 50 };

/**
 * A provider for the failures no sandbox number produces, answered by status query as a remote
 * provider would: 0700000007 refused at once (`rejected`), 0700000008 `provider_error`,
 * 0700000009 `timeout` (the customer never answered); any other number is paid.
 */
class ScriptedProvider {
  name = 'scripted';
  signedCallbacks = true;
  abuseProtection = false;

  async requestPayment({ phone }) {
    if (phone === '254700000007') return { kind: 'refused', code: 'rejected', message: 'This number may not receive prompts.' };
    return { kind: 'accepted', providerRef: `scripted_${phone}_${Date.now()}` };
  }

  async queryStatus(providerRef) {
    const phone = providerRef.split('_')[1];
    if (phone === '254700000008') return { status: 'failed', code: 'provider_error', message: 'System busy' };
    if (phone === '254700000009') return { status: 'failed', code: 'timeout', message: 'No answer from the customer' };
    return { status: 'succeeded', receipt: 'SCR1PT3D00' };
  }

  parseCallback() {
    return { kind: 'reject', reason: 'this provider never calls back' };
  }
}

/**
 * A proxy in front of `relay`, as a CDN or a mobile operator's gateway can be: it passes every
 * request on, except that the next status queries (`GET /v1/payments/:id`) can be answered with
 * its own 404 page (with CORS, as some CDNs add) or never answered at all (`proxy-misbehave`).
 */
function startProxy(target) {
  let misbehaviour = { kind: 'pass', times: 0 };
  const held = new Set();
  const server = createServer((incoming, outgoing) => {
    const statusQuery = incoming.method === 'GET' && /^\/v1\/payments\/[^/?]+$/.test(incoming.url ?? '');
    if (statusQuery && misbehaviour.times > 0) {
      misbehaviour.times -= 1;
      if (misbehaviour.kind === 'hang') {
        held.add(outgoing);
        return;
      }
      outgoing.writeHead(404, { 'content-type': 'text/html', 'access-control-allow-origin': '*' }).end('<html><body><h1>404 Not Found</h1>nginx</body></html>');
      return;
    }
    const url = new URL(target);
    const upstream = forward({ host: url.hostname, port: url.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: url.host } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        misbehave(kind, times) {
          misbehaviour = { kind, times };
        },
        async close() {
          for (const response of held) response.destroy();
          server.closeAllConnections();
          await new Promise((done) => server.close(done));
        },
      });
    });
  });
}

/** @type {Record<'relay' | 'slowRelay' | 'scriptedRelay' | 'guardedRelay' | 'proxiedRelay' | 'elsewhereRelay', { url: string, app?: any, close(): Promise<void> } | undefined>} */
const relays = { relay: undefined, slowRelay: undefined, scriptedRelay: undefined, guardedRelay: undefined, proxiedRelay: undefined, elsewhereRelay: undefined };
/** Requests the slow relay received (across restarts), with their `Last-Event-ID`. */
let slowRelayRequests = [];

/** The relays' base URLs, for the test page. */
export function relayUrls() {
  return Object.fromEntries(Object.entries(relays).map(([name, relay]) => [name, relay?.url ?? '']));
}

/**
 * `relay`: the sandbox answering in 200 ms (0700000005: found paid by status query alone).
 * `slowRelay`: the sandbox answering in 1.5 s, so a test can act while the prompt is open; it can
 * be stopped and started again on the same port and database. `scriptedRelay`: ScriptedProvider.
 * `guardedRelay`: the sandbox under the abuse rules, its customer never answering.
 * `elsewhereRelay`: a demo merchant that allows only https://shop.example, not the test page.
 * `proxiedRelay`: `relay` behind a proxy that can misbehave (`startProxy`).
 * @param {string[]} allowedOrigins the test page's origins
 */
export function relayPlugin(allowedOrigins) {
  let slowRelayDir = '';
  let startSlowRelay;
  return {
    name: 'stk-pay-relays',
    async serverStart() {
      const { startRelay } = await tsImport('../server/src/testing/start-relay.ts', import.meta.url);
      const { demoMerchant } = await tsImport('../server/src/app.ts', import.meta.url);
      relays.relay = await startRelay({ allowedOrigins, sandboxDelayMs: 200, ...FAST_CHECKS });
      relays.scriptedRelay = await startRelay({ merchants: [demoMerchant(new ScriptedProvider(), allowedOrigins)], ...FAST_CHECKS });
      // The abuse rules on, as for a real provider; the customer never answers, so prompts stay open.
      const { SandboxProvider } = await tsImport('../server/src/providers/sandbox.ts', import.meta.url);
      relays.guardedRelay = await startRelay({ merchants: [demoMerchant(new SandboxProvider({ delayMs: 600_000, abuseProtection: true }), allowedOrigins)] });
      // A relay none of whose merchants allows the test page's origin.
      relays.elsewhereRelay = await startRelay({ merchants: [demoMerchant(new SandboxProvider({ delayMs: 600_000 }), ['https://shop.example'])] });
      slowRelayDir = mkdtempSync(join(tmpdir(), 'stk-pay-slow-relay-'));
      startSlowRelay = async (port) => {
        const relay = await startRelay({ allowedOrigins, sandboxDelayMs: 1500, dbPath: join(slowRelayDir, 'stk-pay.sqlite'), port, ...FAST_CHECKS });
        relay.app.server.on('request', (request) => {
          const lastEventId = request.headers['last-event-id'];
          slowRelayRequests.push({ method: request.method, url: request.url, lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined });
        });
        return relay;
      };
      relays.slowRelay = await startSlowRelay(0);
      relays.proxiedRelay = await startProxy(relays.relay.url);
    },
    async serverStop() {
      await Promise.all(Object.values(relays).map((relay) => relay?.close()));
      if (slowRelayDir) rmSync(slowRelayDir, { recursive: true, force: true });
    },
    async executeCommand({ command, payload }) {
      switch (command) {
        case 'slow-relay-restart': {
          // Open streams end and the sandbox's pending callbacks are lost, as in a crash; the
          // same port and database come back after `downMs`.
          const port = Number(new URL(relays.slowRelay.url).port);
          await relays.slowRelay.close();
          await new Promise((resolve) => setTimeout(resolve, payload?.downMs ?? 0));
          relays.slowRelay = await startSlowRelay(port);
          return true;
        }
        case 'slow-relay-requests':
          return slowRelayRequests;
        case 'proxy-misbehave':
          relays.proxiedRelay.misbehave(payload.kind, payload.times);
          return true;
        case 'slow-relay-forget-requests':
          slowRelayRequests = [];
          return true;
        case 'sign-checkout-token': {
          const { createCheckoutToken } = await tsImport('../server/src/checkout-token.ts', import.meta.url);
          const merchant = relays.relay.app.merchants.byPublishableKey('pk_test_demo');
          return createCheckoutToken({ merchant: merchant.id, ...payload }, merchant.secretKeys[0]);
        }
        default:
          return undefined;
      }
    },
  };
}
