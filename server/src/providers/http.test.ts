import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../testing/free-port.js';
import { listenOnLoopback, type LoopbackServer } from '../testing/loopback.js';
import { requestJson } from './http.js';

/** A provider on 127.0.0.1 that answers each request with `handler`. */
async function provider(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<LoopbackServer> {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handler(request, body, response));
  });
  return listenOnLoopback(server);
}

let open: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('requestJson: what a provider request tells the relay', () => {
  it('sends JSON with the given headers and reads a JSON answer', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const server = await provider((request, body, response) => {
      seen = { method: request.method, headers: request.headers, body };
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ResponseCode":"0"}');
    });
    open = server;
    const answer = await requestJson({ method: 'POST', url: `${server.url}/push`, headers: { authorization: 'Bearer t' }, body: { amount: 250 } });
    expect(answer).toEqual({ status: 200, body: { ResponseCode: '0' } });
    expect(seen).toMatchObject({ method: 'POST', body: '{"amount":250}', headers: { authorization: 'Bearer t', 'content-type': 'application/json', accept: 'application/json' } });
  });

  it('keeps a non-JSON answer as text, and accepts an error status the adapter names as normal', async () => {
    const server = await provider((_request, _body, response) => response.writeHead(500).end('<html>being processed</html>'));
    open = server;
    expect(await requestJson({ method: 'GET', url: server.url }, [500])).toEqual({ status: 500, body: '<html>being processed</html>' });
  });

  it('sorts refusals: 429 is throttled (with Retry-After), 4xx refused, 5xx indeterminate', async () => {
    const answers: Record<string, [number, Record<string, string>, string]> = {
      '/busy': [429, { 'retry-after': '7' }, '{"fault":"spike arrest"}'],
      '/bad': [400, {}, '{"errorMessage":"Invalid PhoneNumber"}'],
      '/down': [503, {}, 'upstream down'],
    };
    const server = await provider((request, _body, response) => {
      const [status, headers, body] = answers[request.url!]!;
      response.writeHead(status, headers).end(body);
    });
    open = server;
    await expect(requestJson({ method: 'POST', url: `${server.url}/busy`, body: {} })).rejects.toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 7_000, body: { fault: 'spike arrest' } });
    await expect(requestJson({ method: 'POST', url: `${server.url}/bad`, body: {} })).rejects.toMatchObject({ kind: 'refused', status: 400, body: { errorMessage: 'Invalid PhoneNumber' } });
    await expect(requestJson({ method: 'POST', url: `${server.url}/down`, body: {} })).rejects.toMatchObject({ kind: 'indeterminate', status: 503, body: 'upstream down' });
  });

  it("keeps a refusal's body for the adapter but out of a log line's err, where a key the provider echoed would land", async () => {
    const server = await provider((_request, _body, response) => response.writeHead(401).end('{"detail":"Invalid token ISSecretKey_test_echoed01"}'));
    open = server;
    const error = await requestJson({ method: 'POST', url: server.url, body: {} }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'refused', status: 401, body: { detail: 'Invalid token ISSecretKey_test_echoed01' } });
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    log.warn({ err: error }, 'status query failed; will ask again');
    expect(lines.join('')).toContain('"status":401');
    expect(lines.join('')).not.toContain('ISSecretKey_test_echoed01');
  });

  it('a refused connection is not_sent: nothing reached the provider', async () => {
    const port = await freePort();
    await expect(requestJson({ method: 'POST', url: `http://127.0.0.1:${port}/push`, body: {} })).rejects.toMatchObject({ name: 'ProviderHttpError', kind: 'not_sent', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('no answer within the deadline is indeterminate: the request may have arrived', async () => {
    const server = await provider(() => undefined);
    open = server;
    await expect(requestJson({ method: 'POST', url: server.url, body: {}, timeoutMs: 200 })).rejects.toMatchObject({ kind: 'indeterminate', message: 'timed out' });
  });

  it('a connection dropped after the request left, or a body cut short, is indeterminate', async () => {
    const server = await provider((request, _body, response) => {
      if (request.url === '/drop') {
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"ResponseCode":');
      setTimeout(() => request.socket.destroy(), 20);
    });
    open = server;
    await expect(requestJson({ method: 'POST', url: `${server.url}/drop`, body: {} })).rejects.toMatchObject({ kind: 'indeterminate', message: expect.stringMatching(/^connection failed/) });
    await expect(requestJson({ method: 'POST', url: `${server.url}/cut`, body: {} })).rejects.toMatchObject({ kind: 'indeterminate' });
  });

  it('a body that stops arriving is indeterminate once the deadline passes', async () => {
    const server = await provider((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"ResponseCode":');
    });
    open = server;
    await expect(requestJson({ method: 'GET', url: server.url, timeoutMs: 200 })).rejects.toMatchObject({ kind: 'indeterminate', message: 'timed out' });
  });
});
