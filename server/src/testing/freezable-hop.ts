/**
 * A TCP hop on 127.0.0.1 in front of a server (PostgreSQL, here) that can stop passing bytes on
 * the connections open now without closing them, as a NAT or firewall that forgot them does, or
 * a database host that hangs; connections made after pass.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface FreezableHop {
  port: number;
  /** Stops passing bytes on every connection open now. */
  freezeOpen(): void;
  close(): Promise<void>;
}

export async function startFreezableHop(targetPort: number, targetHost = '127.0.0.1'): Promise<FreezableHop> {
  const frozen = new Set<Socket>();
  const live = new Set<Socket>();
  const hop = createServer((inbound) => {
    const outbound = connect(targetPort, targetHost);
    for (const [from, to] of [[inbound, outbound], [outbound, inbound]] as const) {
      from.on('data', (chunk) => {
        if (!frozen.has(inbound)) to.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => to.destroy());
    }
    live.add(inbound);
    inbound.on('close', () => live.delete(inbound));
  });
  await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
  return {
    port: (hop.address() as AddressInfo).port,
    freezeOpen() {
      for (const socket of live) frozen.add(socket);
    },
    async close() {
      for (const socket of live) socket.destroy();
      await new Promise((resolve) => hop.close(resolve));
    },
  };
}
