import { createServer } from 'node:net';

/**
 * Ports handed out by this process recently. The OS may return the same
 * ephemeral port twice in a row if the first caller has not bound it yet, so
 * we remember what we gave out and ask again.
 */
const handedOut = new Set<number>();

function probe(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/**
 * Returns a TCP port on `host` (default 127.0.0.1) that was free a moment ago
 * and has not been returned before by this process. There is an unavoidable
 * race with other processes between this call and the caller binding the port;
 * service helpers that care retry on "address in use".
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probe(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free TCP port');
}
