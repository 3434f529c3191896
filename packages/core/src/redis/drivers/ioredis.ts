/**
 * The seam on ioredis 5 and 6 (`Redis`, standalone or Sentinel, and `Cluster`) and on iovalkey,
 * the ioredis fork with the same API. Scripts go through ioredis `defineCommand`, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT by itself; the bound command it defines is what
 * the hot path calls, so the seam adds nothing per call but the closure it returns.
 */
import type { Cluster, Redis } from 'ioredis';
import type { KeelRedisClient, KeelSubscriber, ScriptCommand, ScriptDefinition } from '../seam.js';

type IoClient = Redis | Cluster;

/** ioredis, ioredis 6 and iovalkey all have `defineCommand` and a `status` string. */
export function isIoredisClient(client: object): client is IoClient {
  const c = client as Partial<Redis>;
  return typeof c.defineCommand === 'function' && typeof c.status === 'string';
}

const isClusterClient = (client: IoClient): client is Cluster =>
  (client as Cluster).isCluster === true;

/** `defineCommand` adds a method per name, which ioredis's types cannot know of. */
const isCommand = (value: unknown): value is ScriptCommand => typeof value === 'function';

/**
 * The method `defineCommand` added to a client, or copied onto its pipeline (where a call
 * queues the command and returns the pipeline: the reply comes from `exec()`).
 */
function definedCommand(target: object, name: string): ScriptCommand {
  const command: unknown = Reflect.get(target, name);
  if (!isCommand(command)) throw new Error(`ioredis did not define command ${name}`);
  return command;
}

/**
 * The auto-pipelines ioredis has queued but not sent yet (`enableAutoPipelining`), by slot.
 * Internal to ioredis (5 and 6, iovalkey): absent or not a Map, there are none to mend.
 */
function pendingAutoPipelines(client: IoClient): Iterable<object> {
  const pipelines: unknown = Reflect.get(client, '_autoPipelines');
  return pipelines instanceof Map ? (pipelines.values() as Iterable<object>) : [];
}

export function ioredisDriver(client: IoClient): KeelRedisClient {
  const cluster = isClusterClient(client);
  const defined = new Set<string>();

  const define = (definition: ScriptDefinition): void => {
    if (defined.has(definition.name)) return;
    // Without `numberOfKeys`, ioredis takes the key count as the first argument of each call.
    client.defineCommand(
      definition.name,
      definition.numberOfKeys === undefined
        ? { lua: definition.lua }
        : { numberOfKeys: definition.numberOfKeys, lua: definition.lua },
    );
    defined.add(definition.name);
    // A pipeline gets the commands defined when it was made. With `enableAutoPipelining`, one
    // made earlier in this tick would queue this script's first call and throw "is not a
    // function": give the pending ones the command as well.
    for (const pipeline of pendingAutoPipelines(client)) {
      for (const name of [definition.name, `${definition.name}Buffer`]) {
        Reflect.set(pipeline, name, Reflect.get(client, name));
      }
    }
  };

  return {
    driver: 'ioredis',
    native: client,
    isCluster: cluster,
    get status() {
      return client.status;
    },
    connect: () => {
      client.connect().catch(() => {});
    },
    on: (event, listener) => {
      client.on(event, listener);
    },
    once: (event, listener) => {
      client.once(event, listener);
    },
    script(definition, buffer) {
      define(definition);
      const name = buffer ? `${definition.name}Buffer` : definition.name;
      return definedCommand(client, name).bind(client);
    },
    async scriptThenWait(definition, buffer, argv, replicas, timeoutMs) {
      define(definition); // on the client before the pipeline copies its commands
      const pipeline = client.pipeline();
      const name = buffer ? `${definition.name}Buffer` : definition.name;
      definedCommand(pipeline, name).call(pipeline, ...argv);
      pipeline.call('WAIT', replicas, timeoutMs);
      const [scriptResult, waitResult] = (await pipeline.exec()) ?? [];
      if (!scriptResult) throw new Error(`pipeline for ${definition.name} returned no reply`);
      if (scriptResult[0]) throw scriptResult[0];
      const acknowledged = waitResult && !waitResult[0] ? Number(waitResult[1]) : 0;
      return { reply: scriptResult[1], acknowledged };
    },
    call: (command, ...args) => client.call(command, ...args),
    time: async () => {
      // ioredis types TIME's reply as number[]; it is two strings, seconds and microseconds.
      const [seconds, micros] = await client.time();
      if (seconds === undefined || micros === undefined) throw new Error('TIME replied short');
      return [seconds, micros];
    },
    info: (section) => client.info(section),
    scan: (match, count) => scanMasters(client, match, count),
    subscriber: () => subscriberOf(client),
    database: cluster ? 0 : (client.options.db ?? 0),
    // A Cluster takes `keyPrefix` among its own options (ioredis applies it from there).
    keyPrefix:
      (cluster
        ? (client.options.keyPrefix ?? client.options.redisOptions?.keyPrefix)
        : client.options.keyPrefix) ?? '',
    offlineQueue: client.options.enableOfflineQueue !== false,
    describe() {
      if (cluster) return 'cluster';
      const { host, port, path } = client.options;
      return path ? `unix:${path}` : `${host ?? 'localhost'}:${port ?? 6379}`;
    },
  };
}

async function* scanMasters(client: IoClient, match: string, count: number) {
  const nodes = isClusterClient(client) ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** A connection of its own; commands queue until it is connected (it resubscribes on ready). */
function subscriberOf(client: IoClient): KeelSubscriber {
  const subscriber = isClusterClient(client)
    ? client.duplicate(undefined, { enableOfflineQueue: true })
    : client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
  subscriber.on('error', () => {
    // Reported through the main client's listener; the subscriber only tracks health.
  });
  return {
    get status() {
      return subscriber.status;
    },
    subscribe: (channel) => subscriber.subscribe(channel),
    on(event: string, listener: (...args: string[]) => void) {
      if (event !== 'down') subscriber.on(event, listener);
      else for (const e of ['close', 'reconnecting', 'end']) subscriber.on(e, listener);
    },
    async quit() {
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}
