/**
 * The statuses the Lua scripts return as the first element of their reply, and the memory
 * store returns too, so both stores lead to the same decisions and the same errors. Mapped to
 * outcomes here and nowhere else.
 */
import { UnexpectedScriptReplyError } from '@keel/core';

/** Status codes: the first element of every lock script's reply, and of the memory store's. */
export const ScriptStatus = {
  /** acquire: taken, with a new fencing token · extend: extended · release: deleted. */
  OK: 0,
  /** acquire: this owner token already holds it (a retried request); TTL set again. */
  ALREADY_OURS: 1,
  /** acquire: another owner holds it. */
  BUSY: 2,
  /** extend / release: no lock there any more (expired or released). */
  ABSENT: 3,
  /** extend / release: another owner holds it now. */
  OTHER_OWNER: 4,
} as const;

export type ScriptStatusCode = (typeof ScriptStatus)[keyof typeof ScriptStatus];

/** What one store answers to `acquire`. */
export interface AcquireReply {
  readonly status:
    | typeof ScriptStatus.OK
    | typeof ScriptStatus.ALREADY_OURS
    | typeof ScriptStatus.BUSY;
  /** The fencing token (acquired / already ours); 0 when busy. */
  readonly fence: number;
  /** The lock's time to live, ms: ours when acquired, the holder's remaining when busy (-1: no TTL). */
  readonly ttlMs: number;
}

/** What one store answers to `extend` and `release`. */
export type HoldStatus =
  | typeof ScriptStatus.OK
  | typeof ScriptStatus.ABSENT
  | typeof ScriptStatus.OTHER_OWNER;

const ACQUIRE_STATUSES: readonly number[] = [
  ScriptStatus.OK,
  ScriptStatus.ALREADY_OURS,
  ScriptStatus.BUSY,
];
const HOLD_STATUSES: readonly number[] = [
  ScriptStatus.OK,
  ScriptStatus.ABSENT,
  ScriptStatus.OTHER_OWNER,
];

/** Validate and convert the `lock-acquire` reply `{status, fence, ttl}`. */
export function parseAcquireReply(script: string, reply: unknown): AcquireReply {
  if (Array.isArray(reply) && reply.length === 3) {
    const [status, fence, ttlMs] = reply.map(Number) as [number, number, number];
    if (
      ACQUIRE_STATUSES.includes(status) &&
      Number.isSafeInteger(fence) &&
      Number.isFinite(ttlMs)
    ) {
      return { status: status as AcquireReply['status'], fence, ttlMs };
    }
  }
  throw new UnexpectedScriptReplyError(script, reply);
}

/** Validate and convert the `lock-extend` / `lock-release` reply `{status}`. */
export function parseHoldReply(script: string, reply: unknown): HoldStatus {
  if (Array.isArray(reply) && reply.length === 1) {
    const status = Number(reply[0]);
    if (HOLD_STATUSES.includes(status)) return status as HoldStatus;
  }
  throw new UnexpectedScriptReplyError(script, reply);
}
