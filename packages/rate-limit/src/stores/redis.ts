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
  const { keyspace, runner, call, clockForTests } = setupRedisStore(options, {
    component: 'createRedisStore',
    feature: 'rate-limit',
    short: 'rl',
    version: VERSION,
    defaultDeadlineMs: 50,
    evictionImpact: 'an evicted counter starts again from zero and lets a client past its limit',
  });

  /** Joined key parts per (usually static) parts array, so a check does not re-join them. */
  const joined = new WeakMap<readonly string[], string>();
  const keysOf = (clientKey: string, policies: readonly StorePolicy[]) => {
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
  };
  const now = () => (clockForTests ? clockForTests() : '');

  function policyArgs(p: StorePolicy): ScriptArg[] {
    return [ALGORITHMS[p.algorithm].code, p.limit, p.windowMs, p.burst];
  }

  function refundArgs({ cost, policies, receipts }: StoreRefund): ScriptArg[] {
    const args: ScriptArg[] = [now(), cost];
    policies.forEach((p, i) => {
      args.push(...policyArgs(p), receipts[i] ?? 0);
    });
    return args;
  }

  async function check(storeCheck: StoreCheck): Promise<StoreCheckResult> {
    const { clientKey, cost, policies, dryRun } = storeCheck;
    // A peek is 'p<cost>': the script decides as for a check and writes nothing.
    const args: ScriptArg[] = [now(), dryRun ? `p${cost}` : cost];
    let blocking = false;
    for (const p of policies) {
      args.push(ALGORITHMS[p.algorithm].code, p.limit, p.windowMs, p.burst);
      if (p.blockDurationMs) blocking = true;
    }
    // Block durations only when some policy has one: other checks send nothing more.
    if (blocking) for (const p of policies) args.push(p.blockDurationMs ?? 0);
    const keys = keysOf(clientKey, policies);
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
        const refund = refundArgs({ ...storeCheck, receipts });
        await runner.run(refundLimits, keys, refund);
      },
    );
  }

  return {
    kind: 'redis',
    localKeys: false,
    check,
    async refund(refund) {
      const keys = keysOf(refund.clientKey, refund.policies);
      const args = refundArgs(refund);
      const reply = await call('refund', (attempt) =>
        runner.run(refundLimits, keys, args, attempt),
      );
      expectOk(reply);
    },
    async reset({ clientKey, policies }) {
      const keys = keysOf(clientKey, policies);
      // One slot (shared hash tag), so one multi-key script is Cluster-safe.
      await call('reset', (attempt) => runner.run(resetLimits, keys, [], attempt));
    },
    async adjust({ clientKey, units, policies }) {
      const keys = keysOf(clientKey, policies);
      const args: ScriptArg[] = [now(), units];
      for (const p of policies) args.push(...policyArgs(p));
      // Guarded: a penalty or reward reported as failed never lands later behind the caller.
      const reply = await call(units > 0 ? 'penalize' : 'reward', (attempt) =>
        runner.run(adjustLimits, keys, args, attempt),
      );
      expectOk(reply);
    },
    async block({ clientKey, policies, durationMs }) {
      const keys = keysOf(clientKey, policies);
      const args: ScriptArg[] = [now(), durationMs];
      // A sliding log's block is a full log: the script needs each policy's limit and window.
      for (const p of policies) args.push(ALGORITHMS[p.algorithm].code, p.limit, p.windowMs);
      const reply = await call('block', (attempt) => runner.run(blockLimits, keys, args, attempt));
      expectOk(reply);
    },
  };
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
