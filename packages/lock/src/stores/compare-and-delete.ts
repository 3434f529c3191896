/**
 * Native compare-and-delete: Redis 8.4 and Valkey 9.2 have `DELEX key IFEQ value`, Valkey 9.0
 * has `DELIFEQ key value`. Where the server has one, a lock is released with it instead of the
 * `lock-release-1.lua` script; everywhere else the script is the portable path, with the same
 * effect (delete only if the key still holds our token).
 *
 * Probed once per client with `COMMAND INFO`. Cluster clients always use the script: ioredis
 * does not know these commands' key positions, so it could not route them to the right slot.
 */
import { type AnyRedisClient, type KeelRedisClient, keelClient, withDeadline } from '@keel/core';

/** The native command a server offers, or `undefined` (use the Lua script). */
export type CompareAndDelete = 'DELEX' | 'DELIFEQ' | undefined;

const probes = new WeakMap<KeelRedisClient, Promise<CompareAndDelete>>();

/**
 * Which native compare-and-delete `client`'s server supports, probed once per client and
 * cached (failures included: the script is always correct). Never rejects.
 */
export function detectCompareAndDelete(
  given: AnyRedisClient,
  deadlineMs = 1000,
): Promise<CompareAndDelete> {
  const client = keelClient(given);
  let probe = probes.get(client);
  if (!probe) {
    probe = client.isCluster
      ? Promise.resolve(undefined)
      : withDeadline(client.call('COMMAND', 'INFO', 'DELEX', 'DELIFEQ'), deadlineMs, 'lock.probe')
          .then(parseCommandInfo)
          .catch(() => undefined);
    probes.set(client, probe);
  }
  return probe;
}

/** `COMMAND INFO delex delifeq` → one entry per name, `null` for a command the server lacks. */
export function parseCommandInfo(reply: unknown): CompareAndDelete {
  if (!Array.isArray(reply)) return undefined;
  const [delex, delifeq] = reply as unknown[];
  if (Array.isArray(delex) && delex.length > 0) return 'DELEX';
  if (Array.isArray(delifeq) && delifeq.length > 0) return 'DELIFEQ';
  return undefined;
}

/** Forget a probe result, e.g. after the native command answered "unknown command". */
export function markUnsupported(given: AnyRedisClient): void {
  const client = keelClient(given);
  probes.set(client, Promise.resolve(undefined));
}
