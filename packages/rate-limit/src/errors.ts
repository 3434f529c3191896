/**
 * @keel/rate-limit's error codes and classes. A rejection is an expected outcome (a decision
 * with `allowed: false`), not an exception; these cover the cases that are not.
 */
import { KeelError } from '@keel/core';

/** The problem type of draft-ietf-httpapi-ratelimit-headers §"Quota Exceeded" (429 bodies). */
export const QUOTA_EXCEEDED_TYPE = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

/** Registry of this package's error codes. Frozen: codes are part of the public API. */
export const codes = Object.freeze({
  /** A request was refused because a policy's quota is spent (the 429 problem's `code`). */
  RATE_LIMITED: 'KEEL_ERR_RATE_LIMITED',
  /**
   * A request costs more than a policy can ever grant at once (its `limit`, or `burst` for the
   * bucket algorithms): refused for good, without `Retry-After` (the 413 problem's `code`).
   */
  RATE_LIMIT_COST_EXCEEDS_LIMIT: 'KEEL_ERR_RATE_LIMIT_COST_EXCEEDS_LIMIT',
  /**
   * A check needs more room than the whole memory store has (more policies than `maxEntries`,
   * or state larger than `maxBytes`). A full store otherwise evicts the counters nearest to
   * expiry instead.
   */
  RATE_LIMIT_STORE_FULL: 'KEEL_ERR_RATE_LIMIT_STORE_FULL',
  /** The store answered something this version does not understand (a bug or version skew). */
  RATE_LIMIT_BAD_REPLY: 'KEEL_ERR_RATE_LIMIT_BAD_REPLY',
  /** A `cost`, dynamic `limit` or `keyGenerator` function returned an unusable value. */
  RATE_LIMIT_BAD_VALUE: 'KEEL_ERR_RATE_LIMIT_BAD_VALUE',
} as const);

export type RateLimitErrorCode = (typeof codes)[keyof typeof codes];

/**
 * One check needs more room than the whole memory store has, even after evicting every other
 * counter: more policies than `maxEntries`, or a state larger than `maxBytes`. The limiter
 * applies its failure policy (`fallback` acts as `open` for a memory store).
 */
export class RateLimitStoreFullError extends KeelError {
  constructor(maxEntries: number, maxBytes: number) {
    super(
      codes.RATE_LIMIT_STORE_FULL,
      `One rate-limit check needs more room than the memory store has (maxEntries ${maxEntries}, maxBytes ${maxBytes}); raise them, use fewer policies per limiter, or use the Redis store`,
      { status: 503, title: 'Rate-limit store full' },
    );
  }
}

/** A script reply of unexpected shape or status. */
export class RateLimitReplyError extends KeelError {
  constructor(reply: unknown) {
    super(
      codes.RATE_LIMIT_BAD_REPLY,
      `The rate-limit script returned an unexpected reply: ${JSON.stringify(reply)}`,
      { status: 500, title: 'Unexpected rate-limit store reply' },
    );
  }
}

/** An application callback (cost, dynamic limit, key generator) returned an unusable value. */
export class RateLimitValueError extends KeelError {
  /** The option whose function returned the value, e.g. `cost` or `policies[1].limit`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(codes.RATE_LIMIT_BAD_VALUE, message, { status: 500, title: 'Invalid rate-limit value' });
    this.option = option;
  }
}
