import net from 'node:net';

/**
 * Asks the OS for a free TCP port: bind port 0 on `host`, read the port, close.
 *
 * There is a small window in which another process can take the port before the caller binds
 * it; callers that spawn servers retry on "Address already in use".
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))));
    });
  });
}
