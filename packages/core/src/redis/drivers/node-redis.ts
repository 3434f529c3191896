/**
 * The seam on node-redis (`redis` ≥ 5): `createClient()` and `createCluster()`. It is typed by
 * shape, not imported, so `redis` stays an optional peer of the application.
 *
 * node-redis has no `defineCommand` for a live client, so scripts go out as EVALSHA of the
 * script's SHA-1, and as EVAL only after the server answers NOSCRIPT (a restart, `SCRIPT
 * FLUSH`) — what ioredis does. Two commands sent in the same tick go out back to back on one
 * connection (node-redis pipelines by itself), which is how a durable write's `WAIT` follows
 * its script on the connection that wrote it.
 */
import { createHash } from 'node:crypto';
import type { KeelRedisClient, KeelSubscriber, ScriptArg, ScriptDefinition } from '../seam.js';

type Listener = (...args: never[]) => void;
type Args = readonly (string | Buffer)[];
interface SendOptions {
  typeMapping?: Record<number, unknown>;
}

/** What Keel uses of a node-redis standalone client. */
interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { database?: number; disableOfflineQueue?: boolean; socket?: object };
  connect(): Promise<unknown>;
  sendCommand(args: Args, options?: SendOptions): Promise<unknown>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  duplicate(): NodeRedisClient;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
}

/** What Keel uses of a node-redis Cluster. */
interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: readonly object[];
  readonly options?: { defaults?: { disableOfflineQueue?: boolean } };
  connect(): Promise<unknown>;
  sendCommand(
    firstKey: string | Buffer | undefined,
    isReadonly: boolean | undefined,
    args: Args,
    options?: SendOptions,
  ): Promise<unknown>;
  nodeClient(node: object): Promise<NodeRedisClient>;
  duplicate(): NodeRedisCluster;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  close?(): Promise<void>;
  destroy?(): void;
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
}

type AnyNodeRedis = NodeRedisClient | NodeRedisCluster;

/** node-redis clients have `sendCommand` and `isOpen`, and no ioredis `defineCommand`. */
export function isNodeRedisClient(client: object): client is AnyNodeRedis {
  const c = client as Partial<NodeRedisClient> & { defineCommand?: unknown };
  return (
    typeof c.sendCommand === 'function' &&
    typeof c.isOpen === 'boolean' &&
    c.defineCommand === undefined
  );
}

const isClusterClient = (client: AnyNodeRedis): client is NodeRedisCluster => 'masters' in client;

/** RESP type 36 (bulk string) mapped to Buffer: a binary reply, as ioredis's `…Buffer` commands. */
const BUFFER_REPLIES: SendOptions = { typeMapping: { 36: Buffer } };

const sha1 = (lua: string) => createHash('sha1').update(lua).digest('hex');
const toArgs = (argv: readonly ScriptArg[]): (string | Buffer)[] =>
  argv.map((a) => (typeof a === 'number' ? String(a) : a));
const isNoScript = (error: unknown) =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

type Send = (
  firstKey: string | Buffer | undefined,
  args: Args,
  options?: SendOptions,
) => Promise<unknown>;

/**
 * Connection state in ioredis's words: `ready`, `connecting`, `reconnecting`, or `end` (node-redis
 * never connects by itself — no lazyConnect — so a client that is not open was never connected
 * or was closed, and either way every command fails at once).
 */
function readinessOf(client: AnyNodeRedis) {
  const cluster = isClusterClient(client);
  const readyEvent = cluster ? 'connect' : 'ready';
  let everReady = cluster ? client.isOpen : client.isReady;
  // A Cluster has no `isReady`: open and not disconnected since counts as ready (its commands
  // wait for the slot map themselves). One connected before Keel saw it is ready already.
  let clusterReady = cluster && client.isOpen;
  const waiting: (() => void)[] = [];
  client.on(readyEvent, () => {
    everReady = true;
    clusterReady = cluster;
    for (const listener of waiting.splice(0)) listener();
  });
  if (cluster) {
    client.on('disconnect', () => {
      clusterReady = false;
    });
  }
  return {
    readyEvent,
    status(): string {
      if (cluster ? clusterReady && client.isOpen : client.isReady) return 'ready';
      if (client.isOpen) return everReady ? 'reconnecting' : 'connecting';
      return 'end';
    },
    once(listener: () => void) {
      waiting.push(listener);
    },
  };
}

/**
 * Scripts by SHA: EVALSHA, and EVAL only after NOSCRIPT. A `WAIT` goes in the same tick, so
 * node-redis writes it right behind the script on the same connection.
 */
function scriptRunnerOf(send: Send) {
  const shas = new Map<string, string>();
  const shaOf = (definition: ScriptDefinition) => {
    let sha = shas.get(definition.name);
    if (!sha) {
      sha = sha1(definition.lua);
      shas.set(definition.name, sha);
    }
    return sha;
  };
  /** The argv's first key (for Cluster routing): after the key count when the call gives it. */
  const firstKeyOf = (definition: ScriptDefinition, argv: readonly ScriptArg[]) => {
    const count = definition.numberOfKeys ?? Number(argv[0]);
    if (count === 0) return undefined;
    const key = argv[definition.numberOfKeys === undefined ? 1 : 0];
    return typeof key === 'number' ? String(key) : key;
  };
  const evalArgs = (definition: ScriptDefinition, head: string, argv: readonly ScriptArg[]) =>
    definition.numberOfKeys === undefined
      ? [head, ...toArgs(argv)]
      : [head, String(definition.numberOfKeys), ...toArgs(argv)];

  return async (
    definition: ScriptDefinition,
    buffer: boolean,
    argv: readonly ScriptArg[],
    waitFor?: { replicas: number; timeoutMs: number },
  ): Promise<{ reply: unknown; acknowledged: number }> => {
    const firstKey = firstKeyOf(definition, argv);
    const options = buffer ? BUFFER_REPLIES : undefined;
    const wait = () =>
      waitFor
        ? send(firstKey, ['WAIT', String(waitFor.replicas), String(waitFor.timeoutMs)]).then(
            Number,
            () => 0,
          )
        : Promise.resolve(0);
    const head = ['EVALSHA', ...evalArgs(definition, shaOf(definition), argv)];
    const sent = send(firstKey, head, options);
    const acknowledged = wait(); // same tick: pipelined right behind the script
    try {
      return { reply: await sent, acknowledged: await acknowledged };
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await acknowledged;
      const reloaded = send(
        firstKey,
        ['EVAL', ...evalArgs(definition, definition.lua, argv)],
        options,
      );
      const again = wait();
      return { reply: await reloaded, acknowledged: await again };
    }
  };
}

export function nodeRedisDriver(client: AnyNodeRedis): KeelRedisClient {
  const cluster = isClusterClient(client);
  const readiness = readinessOf(client);
  const send: Send = (firstKey, args, options) =>
    cluster
      ? client.sendCommand(firstKey, false, args, options)
      : client.sendCommand(args, options);
  const runScript = scriptRunnerOf(send);

  const seam: KeelRedisClient = {
    driver: 'node-redis',
    native: client,
    isCluster: cluster,
    get status() {
      return readiness.status();
    },
    connect: () => {
      // Connecting on demand: a failure surfaces where it matters, as the waiting store call's
      // coded error (reported by it), and as the client's own 'error' event.
      client.connect().catch(() => {});
    },
    on: (_event, listener) => {
      client.on(readiness.readyEvent, listener);
    },
    once: (_event, listener) => readiness.once(listener),
    script:
      (definition, buffer) =>
      (...argv) =>
        runScript(definition, buffer, argv).then((r) => r.reply),
    scriptThenWait: (definition, buffer, argv, replicas, timeoutMs) =>
      runScript(definition, buffer, argv, { replicas, timeoutMs }),
    call: (command, ...args) => send(routingKey(command, args), [command, ...toArgs(args)]),
    time: () => send(undefined, ['TIME']) as Promise<[string, string]>,
    info: async (section) => String(await send(undefined, ['INFO', section])),
    scan: (match, count) => scanMasters(client, match, count),
    subscriber: () => subscriberOf(client),
    database: cluster ? 0 : (client.options?.database ?? 0),
    keyPrefix: '',
    offlineQueue: cluster
      ? client.options?.defaults?.disableOfflineQueue !== true
      : client.options?.disableOfflineQueue !== true,
    describe() {
      if (cluster) return 'cluster';
      const socket = (client.options?.socket ?? {}) as {
        host?: string;
        port?: number;
        path?: string;
      };
      return socket.path
        ? `unix:${socket.path}`
        : `${socket.host ?? 'localhost'}:${socket.port ?? 6379}`;
    },
  };
  return seam;
}

/** The key a plain command routes by: its first argument, for every command Keel sends. */
function routingKey(command: string, args: readonly ScriptArg[]): string | undefined {
  if (/^(COMMAND|INFO|TIME|PING|WAIT)$/i.test(command)) return undefined;
  const key = args[0];
  return typeof key === 'number' ? String(key) : (key as string | undefined);
}

async function* scanMasters(client: AnyNodeRedis, match: string, count: number) {
  const nodes = isClusterClient(client)
    ? await Promise.all(client.masters.map((master) => client.nodeClient(master)))
    : [client];
  for (const node of nodes) {
    for await (const keys of node.scanIterator({ MATCH: match, COUNT: count })) {
      if (keys.length > 0) yield keys;
    }
  }
}

/** A duplicate connection for SUBSCRIBE; node-redis resubscribes by itself after a reconnect. */
function subscriberOf(client: AnyNodeRedis): KeelSubscriber {
  const subscriber = client.duplicate();
  subscriber.on('error', () => {
    // Reported through the main client's listener; the subscriber only tracks health.
  });
  const messages: ((channel: string, message: string) => void)[] = [];
  // Subscribed once: node-redis keeps the subscription across reconnects, and a second
  // SUBSCRIBE would add a second listener (every message delivered twice).
  const subscribed = new Map<string, Promise<void>>();
  const cluster = isClusterClient(subscriber);
  // A failure shows as the subscriber's status (its users wait for 'ready'); node-redis retries.
  subscriber.connect().catch(() => {});
  return {
    get status() {
      return cluster || (subscriber as NodeRedisClient).isReady ? 'ready' : 'connecting';
    },
    subscribe(channel) {
      let done = subscribed.get(channel);
      if (!done) {
        done = subscriber.subscribe(channel, (message, from) => {
          for (const listener of messages) listener(from, message);
        });
        done.catch(() => subscribed.delete(channel));
        subscribed.set(channel, done);
      }
      return done;
    },
    on(event: string, listener: (...args: string[]) => void) {
      if (event === 'message') messages.push(listener);
      else if (event === 'ready') subscriber.on(cluster ? 'connect' : 'ready', listener);
      else for (const e of ['end', 'reconnecting', 'disconnect']) subscriber.on(e, listener);
    },
    async quit() {
      try {
        await (subscriber.close?.() ?? (subscriber as NodeRedisClient).quit?.());
      } catch {
        subscriber.destroy?.();
      }
    },
  };
}
