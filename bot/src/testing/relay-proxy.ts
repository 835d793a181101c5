/**
 * A reverse proxy on 127.0.0.1 between the bot and the relay, as nginx or a load balancer would
 * sit there, whose misbehaviour a test chooses: a `rule` may answer a request itself (its own 404
 * page, say) or hold it before passing it on (a slow relay), and `dropConnections()` cuts every
 * request in flight (a proxy reload).
 */
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';

/** Answers the request itself and returns true, or returns false to pass it on (maybe later). */
export type ProxyRule = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

export class RelayProxy {
  rule: ProxyRule | undefined;
  url = '';
  private readonly open = new Set<ServerResponse>();
  private readonly server = createServer((request, response) => void this.handle(request, response));

  /** `target` is read at each request (a relay restarted on the same port has a new object). */
  private constructor(private readonly target: () => string) {}

  static async start(target: () => string): Promise<RelayProxy> {
    const proxy = new RelayProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy did not bind a TCP port');
    proxy.url = `http://127.0.0.1:${address.port}`;
    return proxy;
  }

  /** Cuts every request in flight through the proxy, streams included. */
  dropConnections(): void {
    for (const response of this.open) response.destroy();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.open.add(response);
    response.once('close', () => this.open.delete(response));
    if (this.rule && (await this.rule(request, response))) return;
    if (response.destroyed) return;
    const target = new URL(this.target());
    const upstream = forward({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => {
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    response.once('close', () => upstream.destroy());
    request.pipe(upstream);
  }
}
