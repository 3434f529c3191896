/**
 * The Sentinel failover fence: from the moment a sentinel starts failing over the master until
 * the client is connected to the promoted replica, store calls wait (within their deadline;
 * past it, each feature's failure policy applies) instead of writing to the old master.
 *
 * Why: Sentinel promotes a replica (`REPLICAOF NO ONE`) seconds before it demotes the old
 * master, which goes on accepting writes meanwhile and discards them all when it finally
 * resyncs from the new one. ioredis's `failoverDetector` moves the client on `+switch-master`,
 * which comes about a second after the promotion; writes in that second are lost. The fence
 * starts earlier, on `+try-failover`, which the sentinel leading the failover publishes before
 * its election, its choice of replica and the promotion — several timer ticks (100 ms each)
 * before the promoted replica stops taking the old master's writes. Calls sent before it run
 * on the old master and replicate in time; calls after it never reach it.
 *
 * The fence lifts when the client is `ready` again after a `+switch-master` for its master
 * (reconnected to the new one), when the failover is aborted (`-failover-abort-*`), or after
 * `maxFenceMs`, whichever comes first.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './client.js';

/** Options of {@link watchSentinelFailovers}. */
export interface SentinelFailoverOptions {
  /**
   * Longest time the fence stays up, ms: a failover that neither completes nor aborts within it
   * (a leader that died mid-way) must not keep the application in its failure policy for good.
   * @default 30000
   */
  maxFenceMs?: number;
}

const fences = new WeakMap<RedisClient, SentinelFence>();

/** Why store calls on `client` must not run now, or `undefined` when they may. */
export function failoverInProgress(client: RedisClient): string | undefined {
  return fences.get(client)?.reason();
}

/**
 * Resolves `true` once no failover fences `client` (at once when none does), `false` when
 * `timeoutMs` passes first. Store calls wait this out within their deadline, as they wait for
 * a reconnecting client: a graceful failover then costs latency, not a failure-policy answer.
 */
export function failoverSettled(client: RedisClient, timeoutMs: number): Promise<boolean> {
  return fences.get(client)?.lifted(timeoutMs) ?? Promise.resolve(true);
}

/** True once {@link watchSentinelFailovers} watches this client. */
export function isWatchingFailovers(client: RedisClient): boolean {
  return fences.has(client);
}

/**
 * Watch the sentinels of an ioredis Sentinel client (`new Redis({ sentinels, name })`) and fence
 * Keel's store calls on it while a failover of its master is under way. `createRedisClient`
 * does this for every Sentinel configuration; call it for a Sentinel client made otherwise.
 * Opens one subscriber connection per sentinel, closed with the client. A client without
 * `sentinels` is left alone.
 */
export function watchSentinelFailovers(
  client: RedisClient,
  options: SentinelFailoverOptions = {},
): void {
  if (fences.has(client) || !(client instanceof Redis)) return;
  const { sentinels, name } = client.options;
  if (!sentinels?.length || !name) return;
  fences.set(client, new SentinelFence(client, name, options.maxFenceMs ?? 30_000));
}

/** Channels every sentinel publishes its failover steps on. */
const START = '+try-failover';
const SWITCH = '+switch-master';
const ABORTED = '-failover-abort-*';

class SentinelFence {
  /** Local time the fence went up, or undefined. */
  #since: number | undefined;
  #master = '';
  /** Set once `+switch-master` announced the promoted replica. */
  #switched = false;
  /** Calls waiting for the fence to lift. */
  readonly #waiting = new Set<() => void>();
  readonly #subscribers: Redis[];

  constructor(
    private readonly client: Redis,
    private readonly name: string,
    private readonly maxFenceMs: number,
  ) {
    this.#subscribers = (client.options.sentinels ?? []).map((address) => this.#subscribe(address));
    client.on('ready', () => this.#liftIfMoved());
    client.once('end', () => {
      for (const subscriber of this.#subscribers) subscriber.disconnect();
    });
  }

  reason(): string | undefined {
    if (this.#since === undefined) return undefined;
    if (performance.now() - this.#since > this.maxFenceMs) {
      this.#lift();
      return undefined;
    }
    return `Sentinel is failing over master "${this.name}" (${this.#master}): writes wait for the promoted replica`;
  }

  lifted(timeoutMs: number): Promise<boolean> {
    if (this.reason() === undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (lifted: boolean) => {
        clearTimeout(timer);
        this.#waiting.delete(onLift);
        resolve(lifted);
      };
      const onLift = () => done(true);
      // The fence's own limit ends the wait too, as reason() would lift it then.
      const left = this.maxFenceMs - (performance.now() - (this.#since ?? 0));
      const timer = setTimeout(() => done(this.reason() === undefined), Math.min(timeoutMs, left));
      timer.unref();
      this.#waiting.add(onLift);
    });
  }

  #subscribe(address: Partial<{ host: string; port: number }>): Redis {
    const o = this.client.options;
    const subscriber = new Redis({
      host: address.host ?? 'localhost',
      port: address.port ?? 26379,
      // ioredis fills undefined options from its defaults, as if left out.
      username: o.sentinelUsername,
      password: o.sentinelPassword,
      ...(o.enableTLSForSentinelMode && o.sentinelTLS ? { tls: o.sentinelTLS } : {}),
      connectionName: 'keel:failover-watch',
      // Subscriptions are restored after a reconnect (ioredis's autoResubscribe).
      retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
      maxRetriesPerRequest: null,
    } satisfies RedisOptions);
    subscriber.on('error', () => {}); // a sentinel that is down is one of several
    subscriber.subscribe(START, SWITCH).catch(() => {});
    subscriber.psubscribe(ABORTED).catch(() => {});
    subscriber.on('message', (channel: string, message: string) => this.#onEvent(channel, message));
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) =>
      this.#onEvent(channel, message),
    );
    return subscriber;
  }

  /**
   * `+try-failover` and `-failover-abort-*` say `master <name> <ip> <port>`;
   * `+switch-master` says `<name> <old ip> <old port> <new ip> <new port>`.
   */
  #onEvent(channel: string, message: string): void {
    const words = message.split(' ');
    if (channel === SWITCH) {
      if (words[0] !== this.name || this.#since === undefined) return;
      this.#switched = true;
      // ioredis's failoverDetector reconnects on this very message (perhaps before it reaches
      // this subscriber, hence the check); without the detector, Keel reconnects the client.
      if (!this.#liftIfMoved() && !this.client.options.failoverDetector) {
        this.client.disconnect(true);
      }
      return;
    }
    if (words[0] !== 'master' || words[1] !== this.name) return;
    if (channel === START) {
      this.#since ??= performance.now();
      this.#master = `${words[2]}:${words[3]}`;
      this.#switched = false;
    } else {
      this.#lift();
    }
  }

  /**
   * Lift the fence once a switch was announced and the client is ready on another server than
   * the old master (compared as addresses, not names: Sentinel announces IPs); true if lifted.
   */
  #liftIfMoved(): boolean {
    if (this.#since === undefined || !this.#switched) return false;
    const { status, stream } = this.client;
    const address = (stream?.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (status !== 'ready' || `${address}:${stream?.remotePort}` === this.#master) return false;
    this.#lift();
    return true;
  }

  #lift(): void {
    this.#since = undefined;
    this.#switched = false;
    for (const wake of [...this.#waiting]) wake();
  }
}
