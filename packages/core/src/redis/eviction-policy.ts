/**
 * Eviction silently breaks what Keel promises: an evicted idempotency record lets a retried
 * POST run again, an evicted session logs its user out, an evicted lock is granted twice, an
 * evicted counter resets a limit. Like BullMQ, Keel reads the server's `maxmemory-policy` once
 * (`INFO memory`: no `CONFIG` rights needed) when a store first connects, and warns once per
 * process and feature whose guarantee that policy breaks. The cache tolerates any policy.
 */
import type { KeelEvents } from '../events.js';
import { createWarnings, type WarningSwitches } from '../warnings.js';
import { type AnyRedisClient, type KeelRedisClient, keelClient } from './seam.js';

/** What a feature loses to eviction, for the warning; `undefined` for a feature that tolerates it. */
export type EvictionImpact = string | undefined;

/** Features already warned about in this process. */
const warned = new Set<string>();
/** Features already checked against each client (a Redlock spans several servers). */
const checked = new WeakMap<KeelRedisClient, Set<string>>();
/** One `INFO memory` per client, however many stores share it. */
const policies = new WeakMap<KeelRedisClient, Promise<string | undefined>>();

/** The server's `maxmemory-policy`, or `undefined` when it cannot be read. */
export function readEvictionPolicy(native: AnyRedisClient): Promise<string | undefined> {
  const client = keelClient(native);
  let policy = policies.get(client);
  if (!policy) {
    policy = whenReady(client)
      .then(() => client.info('memory'))
      .then((info) => /^maxmemory_policy:(\S+)/m.exec(info)?.[1])
      .catch(() => undefined);
    policies.set(client, policy);
  }
  return policy;
}

function whenReady(client: KeelRedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/**
 * Read the policy in the background (never on a request's path) and warn once when it is not
 * `noeviction`. The warning is named `evictionPolicy`.
 */
export function warnOnEvictionPolicy(
  native: AnyRedisClient,
  feature: string,
  impact: EvictionImpact,
  events: KeelEvents,
  switches?: WarningSwitches,
): void {
  if (impact === undefined || warned.has(feature)) return;
  const client = keelClient(native);
  const warnings = createWarnings({ switches, events });
  // A store that turned the warning off does not silence it for the feature's other stores.
  if (!warnings.enabled('evictionPolicy')) return;
  let features = checked.get(client);
  if (!features) {
    features = new Set();
    checked.set(client, features);
  }
  if (features.has(feature)) return;
  features.add(feature);
  readEvictionPolicy(client).then((policy) => {
    if (policy === undefined || policy === 'noeviction' || warned.has(feature)) return;
    warned.add(feature);
    warnings.warn(
      'evictionPolicy',
      `${feature}: Redis evicts keys (maxmemory-policy ${policy}), so ${impact}. Use maxmemory-policy noeviction, or a Redis instance of its own for ${feature} (eviction is server-wide: another database does not protect it)`,
    );
  });
}
