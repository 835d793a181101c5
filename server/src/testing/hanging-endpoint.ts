/**
 * An HTTP endpoint on 127.0.0.1 that takes every request and never answers (until closed): a
 * merchant's webhook endpoint that hangs, as a stuck server or a black-holing firewall does.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HangingEndpoint {
  url: string;
  /** The requests taken so far, never answered. */
  held: ServerResponse[];
  close(): Promise<void>;
}

export async function startHangingEndpoint(path = '/hooks'): Promise<HangingEndpoint> {
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    request.resume();
    held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    held,
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
