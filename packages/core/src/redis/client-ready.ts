/**
 * What a store call does while its client is not connected. A client that is connecting, or
 * reconnecting after a dropped connection or a server's idle `timeout`, gets the call's own
 * deadline to become ready — a cold start or a routine reconnect then costs a little latency,
 * not a failure-policy decision that Redis never learns about. A client that was closed for
 * good fails at once.
 */
import { type AnyRedisClient, type KeelRedisClient, keelClient } from './seam.js';

/** ioredis states (Redis and Cluster) from which the client becomes ready by itself. */
const TRANSIENT_STATES = new Set(['wait', 'connecting', 'connect', 'reconnecting']);

/** True when the client may still become ready: worth waiting for within a deadline. */
export function isTransientState(status: string): boolean {
  return TRANSIENT_STATES.has(status);
}

const readiness = new WeakMap<KeelRedisClient, Promise<boolean>>();

/**
 * Resolves `true` once the client is ready, `false` when `timeoutMs` passes first. One
 * listener per client, however many calls wait.
 */
export function waitUntilReady(native: AnyRedisClient, timeoutMs: number): Promise<boolean> {
  const client = keelClient(native);
  if (client.status === 'ready') return Promise.resolve(true);
  // A lazyConnect client connects on its first command; Keel's calls wait, so start it here.
  if (client.status === 'wait') client.connect();
  let ready = readiness.get(client);
  if (!ready) {
    ready = new Promise<boolean>((resolve) => {
      client.once('ready', () => {
        readiness.delete(client);
        resolve(true);
      });
    });
    readiness.set(client, ready);
  }
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
    ready.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
