/**
 * The contract between a bench server and `bench/run.ts`: listen on an ephemeral loopback
 * port, print one JSON line `{"port":N}` on stdout, answer each `cpu` line on stdin with
 * `{"cpu":[userUs,systemUs]}` (`process.cpuUsage()`, every thread of the process), and exit on
 * SIGTERM or when the runner's stdin pipe closes (so a killed runner never leaves servers
 * behind).
 */
import type { Server } from 'node:http';
import { createInterface } from 'node:readline';

export async function announce(server: Server, onClose?: () => Promise<unknown>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server has no address');

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close();
    void Promise.resolve(onClose?.()).finally(() => process.exit(0));
    // Never hang on a dependency that will not close.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.once('end', shutdown);
  process.stdin.once('close', shutdown);
  // The runner reads the CPU time before and after each measured run (while no load runs).
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: [user, system] })}\n`);
  });
  process.stdin.resume();

  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

/** The Redis URL the runner hands to Redis-backed variants. */
export function benchRedisUrl(): string {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error('BENCH_REDIS_URL is not set: start this server through bench/run.ts');
  return url;
}
