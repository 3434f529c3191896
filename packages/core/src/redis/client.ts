/**
 * The Redis client types Keel accepts, and `createRedisClient()` with the settings a
 * middleware needs. Keel works with any ioredis `Redis` (standalone or Sentinel) or `Cluster`
 * instance the application already has; the helper only picks safer defaults.
 */
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { KeelEvents } from '../events.js';
import { validatorFor } from '../validate.js';
import { watchSentinelFailovers } from './sentinel-failover.js';

/** Any ioredis connection: standalone, Sentinel-managed or Cluster. */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

export interface CreateRedisClientOptions {
  /** `redis://` / `rediss://` URL of a standalone server (or use `redis`). */
  url?: string;
  /** Extra ioredis options (Sentinel: `{ sentinels, name }`); override Keel's defaults. */
  redis?: RedisOptions;
  /** Startup nodes of a Redis Cluster; when set, a `Cluster` is created. */
  cluster?: ClusterNode[];
  /** Extra ioredis Cluster options. */
  clusterOptions?: ClusterOptions;
  /** Receives `store.client-error` events (throttled) instead of the default console logging. */
  events?: KeelEvents;
  /** Longest wait between reconnect attempts, ms. @default 2000 */
  maxReconnectDelayMs?: number;
  /**
   * Send `PING` on an idle connection this often, ms, so a server `timeout` (common on managed
   * Redis) never closes it; set it below that timeout. 0 turns it off. @default 0
   */
  pingIntervalMs?: number;
  /**
   * Sentinel only: the longest a failover fence lasts, ms. From a sentinel's `+try-failover`
   * until the client is connected to the promoted replica, Keel's store calls wait (within
   * their deadline, then each feature's failure policy applies) instead of writing to a master
   * about to be demoted, whose writes would be discarded (see the root README, "Running at
   * scale"). 0 turns the fence off.
   * @default 30000
   */
  failoverFenceMs?: number;
}

/**
 * The defaults and why each one matters to a middleware (see the package README):
 * - `enableOfflineQueue: false` — while disconnected, commands fail at once instead of queueing
 *   without bound and executing late (a rate-limit charge or idempotency claim sent minutes
 *   after the request was answered is worse than a clean failure).
 * - `autoResendUnfulfilledCommands: false` — for the same reason, commands in flight when the
 *   connection drops are failed, not re-sent after the reconnect.
 * - `maxRetriesPerRequest: 1` — ioredis's default of 20 reconnect-retries is how a request hangs
 *   for 70+ seconds; Keel's own deadlines and failure policies decide instead.
 * - a bounded, jittered exponential `retryStrategy` — keeps reconnecting forever, at most every
 *   `maxReconnectDelayMs`, without a thundering herd when Redis comes back.
 * - `connectTimeout: 2000` and TCP `keepAlive` — detect a dead peer in seconds, not minutes.
 * - Sentinel: `failoverDetector: true` and Keel's failover fence (`sentinel-failover.ts`), so a
 *   graceful failover loses no write Keel acknowledged.
 * - an `error` listener — an ioredis client without one crashes the process on the first
 *   connection error (Node's unhandled 'error' event).
 */
export function createRedisClient(options: CreateRedisClientOptions | string = {}): RedisClient {
  const opts = typeof options === 'string' ? { url: options } : options;
  const v = validatorFor('createRedisClient');
  const maxDelay = v.positiveInteger('maxReconnectDelayMs', opts.maxReconnectDelayMs, 2000, 'ms');
  const pingIntervalMs = v.nonNegativeInteger(
    'pingIntervalMs',
    opts.pingIntervalMs,
    0,
    'ms, 0 = off',
  );
  const failoverFenceMs = v.nonNegativeInteger(
    'failoverFenceMs',
    opts.failoverFenceMs,
    30_000,
    'ms, 0 = off',
  );
  // The first retry is at once: a connection the server closed for idleness comes back within
  // the deadline of the call that found it gone. Later ones back off.
  const retryStrategy = (attempt: number) =>
    attempt <= 1
      ? Math.random() * 10
      : Math.min(maxDelay, 25 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
  const base: RedisOptions = {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    keepAlive: 5000,
    retryStrategy,
  };
  let client: RedisClient;
  if (opts.cluster) {
    client = new Cluster(opts.cluster, {
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...base, ...opts.redis },
      ...opts.clusterOptions,
    });
  } else if (opts.url) {
    client = new Redis(opts.url, { ...base, ...opts.redis });
  } else if (opts.redis?.sentinels) {
    // Follow a promotion as soon as a sentinel announces it (+switch-master), not only once
    // the old master is demoted and drops its clients, seconds later.
    client = new Redis({ ...base, failoverDetector: true, ...opts.redis });
    if (failoverFenceMs > 0) watchSentinelFailovers(client, { maxFenceMs: failoverFenceMs });
  } else {
    client = new Redis({ ...base, ...opts.redis });
  }
  attachErrorListener(client, opts.events);
  if (pingIntervalMs > 0) keepAlive(client, pingIntervalMs);
  return client;
}

/** Ping every connection of the client while it is ready; the timer never holds the process. */
function keepAlive(client: RedisClient, intervalMs: number): void {
  const timer = setInterval(() => {
    if (client.status === 'end') {
      clearInterval(timer);
      return;
    }
    if (client.status !== 'ready') return;
    const connections = isCluster(client) ? client.nodes() : [client];
    // A keep-alive ping only keeps the connection warm: a dead connection is reported by the
    // client itself ('error', then its reconnect), not by this ping.
    for (const connection of connections) connection.ping().catch(() => {});
  }, intervalMs);
  timer.unref();
}

/**
 * Attach an `error` listener that reports through events, or logs at most once per
 * 10 seconds when nobody listens (a flapping Redis must not flood the logs).
 */
export function attachErrorListener(client: RedisClient, events?: KeelEvents): void {
  let lastLog = 0;
  client.on('error', (error: Error) => {
    if (events?.active) {
      events.emit('store.client-error', { message: error.message }, { error });
      return;
    }
    const now = Date.now();
    if (now - lastLog >= 10_000) {
      lastLog = now;
      console.warn(`[keel] Redis client error: ${error.message}`);
    }
  });
}
