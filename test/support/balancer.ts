/**
 * A small load balancer on 127.0.0.1 for tests: forwards each request to the first upstream that
 * accepts it (not refused, not 503), streaming the answer (SSE included), as a real one fails over
 * when an instance goes away or reports itself draining.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../server/src/testing/loopback.js';

export interface Balancer {
  url: string;
  close(): Promise<void>;
}

export async function startBalancer(upstreams: string[]): Promise<Balancer> {
  const forward = (incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse, index: number): void => {
    const upstream = upstreams[index];
    if (upstream === undefined) {
      outgoing.writeHead(502).end();
      return;
    }
    const target = new URL(incoming.url ?? '/', upstream);
    const proxied = httpRequest(target, { method: incoming.method, headers: incoming.headers } /* Host kept, as a load balancer does */, (answer) => {
      // An instance shutting down answers 503 (as its /readyz does): take the next one.
      if (answer.statusCode === 503 && index + 1 < upstreams.length) {
        answer.resume();
        forward(incoming, body, outgoing, index + 1);
        return;
      }
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
      outgoing.on('close', () => answer.destroy());
    });
    proxied.on('error', (error: NodeJS.ErrnoException) => {
      if (!outgoing.headersSent && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET')) forward(incoming, body, outgoing, index + 1);
      else outgoing.destroy();
    });
    proxied.end(body);
  };
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => forward(incoming, Buffer.concat(chunks), outgoing, 0));
  });
  return listenOnLoopback(server);
}
