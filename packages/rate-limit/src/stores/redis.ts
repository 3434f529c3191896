/**
 * The Redis store: one `EVALSHA` per check, whatever the number of policies. All keys of a
 * check share the hash tag of the hashed client key (`keel:rl:{<sha256>}:<limiter>:<policy>:…`),
 * so a check lands on one Cluster slot and the script charges all policies or none. Time is the
 * server's (`TIME`), so application servers with skewed clocks still agree.
 *
 * Every call goes through @keel/core's store caller: a deadline, a circuit breaker, a wait
 * (within the deadline) for a client that is still connecting, and one classification of every
 * Redis error. A check Keel gave up on leaves no trace: its script does nothing when it starts
 * after the deadline, and one that answered late is refunded (`undo`). The limiter maps every
 * store failure — timeout, outage, refused command, foreign data — to its failure policy.
 */
import {
  type RedisStoreOptions as CoreRedisStoreOptions,
  type RedisStoreParts,
  type ScriptArg,
  StoreDataError,
  setupRedisStore,
} from '@keel/core';
import { ALGORITHMS } from '../algorithms/index.js';
import type { AlgorithmDecision } from '../algorithms/types.js';
import { RateLimitReplyError } from '../errors.js';
import {
  adjustLimits,
  blockLimits,
  checkLimits,
  refundLimits,
  resetLimits,
} from '../scripts/generated.js';
import { ScriptStatus } from '../scripts/status.js';
import type {
  RateLimitStore,
  StoreAdjust,
  StoreBlock,
  StoreCheck,
  StoreCheckResult,
  StorePolicy,
  StoreRefund,
} from '../types.js';
import { VERSION } from '../version.js';

/**
 * Options of the Redis store: those every Keel Redis store takes (see `RedisStoreOptions` in
 * @keel/core). Keys are `<prefix>rl:{<hash of the client key>}:…`. `deadlineMs` is how long a
 * check may take before the limiter applies its failure policy: keep it in tens of
 * milliseconds, since it is added to a request's latency when Redis stalls. @default 50
 */
export type RedisStoreOptions = CoreRedisStoreOptions;

/** Per-policy fields the check script reads after the key. */
const CHECK_FIELDS = 5;

export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  return new RedisStore(
    setupRedisStore(options, {
      component: 'createRedisStore',
      feature: 'rate-limit',
      short: 'rl',
      version: VERSION,
      defaultDeadlineMs: 50,
      evictionImpact: 'an evicted counter starts again from zero and lets a client past its limit',
    }),
  );
}

/**
 * One store over core's parsed Redis plumbing. The public methods are own properties (arrow
 * functions), as they were on the object this class replaces, so they work unbound too.
 */
class RedisStore implements RateLimitStore {
  readonly kind = 'redis';
  readonly localKeys = false;
  readonly #parts: RedisStoreParts;
  /** Joined key parts per (usually static) parts array, so a check does not re-join them. */
  readonly #joined = new WeakMap<readonly string[], string>();

  constructor(parts: RedisStoreParts) {
    this.#parts = parts;
  }

  readonly check = async (storeCheck: StoreCheck): Promise<StoreCheckResult> => {
    const { clientKey, cost, policies, dryRun } = storeCheck;
    const { runner, call, keyspace } = this.#parts;
    // A peek is 'p<cost>': the script decides as for a check and writes nothing.
    const args: ScriptArg[] = [this.#now(), dryRun ? `p${cost}` : cost];
    let blocking = false;
    for (const p of policies) {
      args.push(ALGORITHMS[p.algorithm].code, p.limit, p.windowMs, p.burst);
      if (p.blockDurationMs) blocking = true;
    }
    // Block durations only when some policy has one: other checks send nothing more.
    if (blocking) for (const p of policies) args.push(p.blockDurationMs ?? 0);
    const keys = this.#keysOf(clientKey, policies);
    return call(
      dryRun ? 'peek' : 'check',
      // Decoded inside the call, so foreign data is a store failure (the failure policy
      // decides), never an error that reaches the client as a 500.
      async (attempt) =>
        parseCheckReply(
          await runner.run(checkLimits, keys, args, attempt),
          policies,
          keyspace.prefix,
        ),
      // The check was given up on but charged anyway (its reply was in flight): give it back.
      async (late) => {
        if (!late.allowed || dryRun) return;
        const receipts = late.decisions.map((d) => d.receipt);
        const refund = this.#refundArgs({ ...storeCheck, receipts });
        await runner.run(refundLimits, keys, refund);
      },
    );
  };

  readonly refund = async (refund: StoreRefund): Promise<void> => {
    const { runner, call } = this.#parts;
    const keys = this.#keysOf(refund.clientKey, refund.policies);
    const args = this.#refundArgs(refund);
    const reply = await call('refund', (attempt) => runner.run(refundLimits, keys, args, attempt));
    expectOk(reply);
  };

  readonly reset = async ({ clientKey, policies }: StoreKeys): Promise<void> => {
    const { runner, call } = this.#parts;
    const keys = this.#keysOf(clientKey, policies);
    // One slot (shared hash tag), so one multi-key script is Cluster-safe.
    await call('reset', (attempt) => runner.run(resetLimits, keys, [], attempt));
  };

  readonly adjust = async ({ clientKey, units, policies }: StoreAdjust): Promise<void> => {
    const { runner, call } = this.#parts;
    const keys = this.#keysOf(clientKey, policies);
    const args: ScriptArg[] = [this.#now(), units];
    for (const p of policies) args.push(...policyArgs(p));
    // Guarded: a penalty or reward reported as failed never lands later behind the caller.
    const reply = await call(units > 0 ? 'penalize' : 'reward', (attempt) =>
      runner.run(adjustLimits, keys, args, attempt),
    );
    expectOk(reply);
  };

  readonly block = async ({ clientKey, policies, durationMs }: StoreBlock): Promise<void> => {
    const { runner, call } = this.#parts;
    const keys = this.#keysOf(clientKey, policies);
    const args: ScriptArg[] = [this.#now(), durationMs];
    // A sliding log's block is a full log: the script needs each policy's limit and window.
    for (const p of policies) args.push(ALGORITHMS[p.algorithm].code, p.limit, p.windowMs);
    const reply = await call('block', (attempt) => runner.run(blockLimits, keys, args, attempt));
    expectOk(reply);
  };

  #keysOf(clientKey: string, policies: readonly StorePolicy[]): string[] {
    const { keyspace } = this.#parts;
    const joined = this.#joined;
    // Hash once per check: every key of the check shares this tag.
    const base = `${keyspace.prefix}${keyspace.tag(clientKey)}:`;
    const keys: string[] = [];
    for (const p of policies) {
      let parts = joined.get(p.keyParts);
      if (parts === undefined) {
        parts = p.keyParts.join(':');
        joined.set(p.keyParts, parts);
      }
      keys.push(base + parts);
    }
    return keys;
  }

  /** The script's time argument: empty (the server's `TIME`) unless a test clock was given. */
  #now(): ScriptArg {
    const { clockForTests } = this.#parts;
    return clockForTests ? clockForTests() : '';
  }

  #refundArgs({ cost, policies, receipts }: StoreRefund): ScriptArg[] {
    const args: ScriptArg[] = [this.#now(), cost];
    policies.forEach((p, i) => {
      args.push(...policyArgs(p), receipts[i] ?? 0);
    });
    return args;
  }
}

/** The keys of a check, which reset() names. */
type StoreKeys = Pick<StoreCheck, 'clientKey' | 'policies'>;

function policyArgs(p: StorePolicy): ScriptArg[] {
  return [ALGORITHMS[p.algorithm].code, p.limit, p.windowMs, p.burst];
}

function expectOk(reply: unknown): void {
  if (!Array.isArray(reply) || reply[0] !== ScriptStatus.OK) throw new RateLimitReplyError(reply);
}

/** The reply's per-policy state: 1 allowed, 0 refused, 2 blocked, 3 blocked from now on. */
const BLOCKED = { 2: 'ongoing', 3: 'started' } as const;

function parseCheckReply(
  reply: unknown,
  policies: readonly StorePolicy[],
  keyFamily: string,
): StoreCheckResult {
  const count = policies.length;
  if (Array.isArray(reply) && reply[0] === ScriptStatus.FOREIGN_DATA) {
    const policy = policies[(reply[1] as number) - 1];
    throw new StoreDataError(
      'check',
      keyFamily,
      `the key of policy ${policy ? policy.keyParts.join(':') : '?'} holds a value that is not a ${policy?.algorithm ?? ''} state`,
    );
  }
  if (
    !Array.isArray(reply) ||
    reply.length !== 1 + CHECK_FIELDS * count ||
    (reply[0] !== ScriptStatus.OK && reply[0] !== ScriptStatus.LIMITED)
  ) {
    throw new RateLimitReplyError(reply);
  }
  const decisions: AlgorithmDecision[] = [];
  for (let i = 0; i < count; i++) {
    const at = 1 + CHECK_FIELDS * i;
    const state = reply[at] as number;
    const decision: AlgorithmDecision = {
      allowed: state === 1,
      remaining: reply[at + 1] as number,
      resetMs: reply[at + 2] as number,
      retryAfterMs: reply[at + 3] as number,
      receipt: reply[at + 4] as number,
    };
    decisions.push(state > 1 ? { ...decision, blocked: BLOCKED[state as 2 | 3] } : decision);
  }
  return { allowed: reply[0] === ScriptStatus.OK, decisions };
}
