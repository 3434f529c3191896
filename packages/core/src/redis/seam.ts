/**
 * The client seam: exactly what Keel needs from a Redis client, so that every store works on
 * ioredis 5 and 6, iovalkey (the same API) and node-redis (`redis` ≥ 5) alike. Features and
 * core's store plumbing talk to a {@link KeelRedisClient}; a driver per client library maps it
 * onto the client the application passed in (`drivers/ioredis.ts`, `drivers/node-redis.ts`).
 * Which driver is picked by the client's shape, never by importing the library: each stays an
 * optional peer.
 *
 * The seam is deliberately small: scripts by SHA with the NOSCRIPT fallback, a script followed
 * by `WAIT` on one connection (`waitForReplicas`), a plain command, `TIME`, `INFO`, SCAN on
 * every master, a duplicated connection for SUBSCRIBE, and the connection state the store
 * caller's connecting-wait, breaker and server-clock rules read.
 */
import { ioredisDriver, isIoredisClient } from './drivers/ioredis.js';
import { isNodeRedisClient, nodeRedisDriver } from './drivers/node-redis.js';

/** A script argument, as Keel sends it. */
export type ScriptArg = string | number | Buffer;

/**
 * Connection states, in ioredis's words (every driver maps its client onto them):
 * `wait` (not connected yet, connects on demand), `connecting`, `connect`, `ready`,
 * `reconnecting`, and the closed-for-good `close`, `end`, `disconnecting`.
 */
export type ClientStatus = string;

/** Sends one script call: `argv` is `[numberOfKeys?, ...keys, ...args]` (see {@link ScriptDefinition}). */
export type ScriptCommand = (...argv: ScriptArg[]) => Promise<unknown>;

export interface ScriptDefinition {
  /** Namespaced, versioned name (`keel:rl:gcra-consume:0.1.0`). */
  readonly name: string;
  /** The whole script, guard included. */
  readonly lua: string;
  /** Keys the script takes; undefined when each call's first argument is its key count. */
  readonly numberOfKeys?: number | undefined;
}

/** What a duplicated connection for SUBSCRIBE offers (a subscribed connection sends nothing else). */
export interface KeelSubscriber {
  readonly status: ClientStatus;
  subscribe(channel: string): Promise<unknown>;
  /** Listeners: `message` (channel, text), `ready`, `down` (closed or reconnecting). */
  on(event: 'message', listener: (channel: string, message: string) => void): void;
  on(event: 'ready' | 'down', listener: () => void): void;
  quit(): Promise<void>;
}

export interface KeelRedisClient {
  /** Which driver speaks to the client: `ioredis` (also iovalkey) or `node-redis`. */
  readonly driver: 'ioredis' | 'node-redis';
  /** The client the application passed in. */
  readonly native: object;
  readonly isCluster: boolean;
  /** Current connection state (see {@link ClientStatus}). */
  readonly status: ClientStatus;
  /** Start connecting a client in state `wait`; errors are the caller's wait's to notice. */
  connect(): void;
  /** Called on every `ready` (first connect and each reconnect), or once. */
  on(event: 'ready', listener: () => void): void;
  once(event: 'ready', listener: () => void): void;
  /**
   * A function that runs the script: EVALSHA, and EVAL only when the server answers NOSCRIPT
   * (after a restart or `SCRIPT FLUSH`). `buffer`: bulk strings in the reply come back as
   * Buffers. Called once per script; the returned function is the hot path.
   */
  script(definition: ScriptDefinition, buffer: boolean): ScriptCommand;
  /**
   * The script, then `WAIT replicas timeoutMs`, on one connection in one round trip (on a
   * Cluster, the node owning the keys' slot). Resolves with the script's reply (or rejects
   * with its error) and the replicas that confirmed it (0 when `WAIT` failed).
   */
  scriptThenWait(
    definition: ScriptDefinition,
    buffer: boolean,
    argv: readonly ScriptArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<{ reply: unknown; acknowledged: number }>;
  /** A plain command (`GET`, `UNLINK`, …), routed by its first key on a Cluster. */
  call(command: string, ...args: ScriptArg[]): Promise<unknown>;
  /** `TIME`: seconds and microseconds. */
  time(): Promise<[string | number, string | number]>;
  /** `INFO <section>`, as text (one master's on a Cluster). */
  info(section: string): Promise<string>;
  /** SCAN with MATCH and COUNT, page by page, on every master. */
  scan(match: string, count: number): AsyncIterable<string[]>;
  /** A connection of its own for SUBSCRIBE, connecting at once, queueing until connected. */
  subscriber(): KeelSubscriber;
  /** The selected database (0 on a Cluster). */
  readonly database: number;
  /** ioredis's `keyPrefix` option, which it adds to every key ('' otherwise). */
  readonly keyPrefix: string;
  /** True when the client queues commands while disconnected (they may then run late). */
  readonly offlineQueue: boolean;
  /** `host:port` (or the socket path) of a standalone client, `cluster` for a Cluster. */
  describe(): string;
}

/** A client Keel accepts: ioredis `Redis`/`Cluster`, iovalkey, node-redis, or a seam already. */
export type AnyRedisClient = object;

const seams = new WeakMap<object, KeelRedisClient>();

/** True for a client {@link keelClient} can drive. */
export function isSupportedClient(client: unknown): client is AnyRedisClient {
  return (
    typeof client === 'object' &&
    client !== null &&
    (isKeelRedisClient(client) || isIoredisClient(client) || isNodeRedisClient(client))
  );
}

function isKeelRedisClient(client: object): client is KeelRedisClient {
  return typeof (client as KeelRedisClient).scriptThenWait === 'function';
}

/** What an option naming a client says it takes, for validation messages. */
export const SUPPORTED_CLIENTS =
  'an ioredis or iovalkey Redis or Cluster, or a node-redis (redis ≥ 5) client from createClient or createCluster';

/**
 * The seam for a client, recognised by its shape; one per client, shared by every store on it
 * (server clock, script SHAs and readiness are per client). Throws for anything else.
 */
export function keelClient(client: AnyRedisClient): KeelRedisClient {
  if (isKeelRedisClient(client)) return client;
  let seam = seams.get(client);
  if (!seam) {
    if (isIoredisClient(client)) seam = ioredisDriver(client);
    else if (isNodeRedisClient(client)) seam = nodeRedisDriver(client);
    else throw new TypeError(`not a Redis client Keel supports: expected ${SUPPORTED_CLIENTS}`);
    seams.set(client, seam);
  }
  return seam;
}
