/** A merchant's webhook endpoint on 127.0.0.1 that records every delivery it receives. */
import { createServer } from 'node:http';

export interface MerchantHooks {
  url: string;
  deliveries: { eventId: string; body: string; signature: string }[];
  close(): Promise<void>;
}

export async function startMerchantHooks(): Promise<MerchantHooks> {
  const deliveries: MerchantHooks['deliveries'] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      deliveries.push({ eventId: String(request.headers['stk-pay-event-id']), body, signature: String(request.headers['stk-pay-signature']) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/stk-pay`,
    deliveries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
