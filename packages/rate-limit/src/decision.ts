/**
 * What the limiter decided for one request, and the pieces every decision shares: the plain
 * decisions (refused, not counted, failure policy), the charged one that can be refunded, and
 * the default rejection responses (429 quota-exceeded, 413 when the cost can never pass).
 */
import {
  type FailurePolicy,
  type KeelEvents,
  type KeelRequest,
  type KeelResponse,
  problem,
  problemResponse,
  type ResponseHeaders,
} from '@keel/core';
import { RETRY_NEVER } from './algorithms/types.js';
import { codes, QUOTA_EXCEEDED_TYPE } from './errors.js';
import type { DecisionSource } from './events.js';
import type { PolicyState } from './headers.js';
import type { RateLimitStore, StoreRefund } from './types.js';

/** The title of the draft's `quota-exceeded` problem type. */
const QUOTA_EXCEEDED_TITLE = 'Request cannot be satisfied as assigned quota has been exceeded';
/** The title of Keel's `rate-limit-cost-exceeds-limit` problem type. */
const COST_EXCEEDS_LIMIT_TITLE = 'Request costs more than the rate limit can ever grant at once';

/** Why a key was refused: see {@link KeyDecision.reason}. */
export type RefusalReason = 'limited' | 'blocked' | 'cost-exceeds-limit';

/**
 * What `consume(key)` or `peek(key)` decided: the decision without HTTP parts, for job
 * workers, websocket handlers, GraphQL resolvers and login services.
 */
export interface KeyDecision {
  /** True when the units were granted (for `peek`: would be). */
  readonly allowed: boolean;
  /**
   * Why: granted (`allowed`); refused until a retry time (`limited`); refused while the key is
   * blocked, by `block()` or a policy's `blockDurationMs` (`blocked`); refused for good because
   * the cost exceeds what a policy can ever grant at once (`cost-exceeds-limit`); or the store
   * failed and the failure policy decided (`store-unavailable`).
   */
  readonly reason: 'allowed' | RefusalReason | 'store-unavailable';
  readonly source: DecisionSource;
  /** The key. */
  readonly key: string;
  /** Units charged (or that would have been). */
  readonly cost: number;
  /**
   * Every policy's state, in the limiter's order: `remaining` (after this decision), `resetMs`,
   * `retryAfterMs`, `violated`, `blocked`. Empty when the failure policy decided.
   */
  readonly policies: readonly PolicyState[];
  /** Names of the policies that refused. */
  readonly violated: readonly string[];
  /**
   * ms until the same cost could pass; 0 when allowed; `RETRY_NEVER` (-1) when it never can
   * (`cost-exceeds-limit`). For a blocked key, when the block ends.
   */
  readonly retryAfterMs: number;
  /** The store failure behind a `store-unavailable` decision. */
  readonly error?: unknown;
  /**
   * Give the units back to the windows/buckets that were charged. Once only; resolves false
   * when nothing was charged or the store failed. Never rejects.
   */
  refund(): Promise<boolean>;
}

/** What `check()` decided, with everything an adapter applies. */
export interface RateLimitDecision {
  /** True when the request may proceed. */
  readonly allowed: boolean;
  /**
   * Why: counted and allowed; refused until a retry time (`limited`); refused while the key is
   * blocked (`blocked`); refused for good because the cost exceeds what a policy can ever grant
   * at once (`cost-exceeds-limit`); not counted (skip/allow-list); or the store failed and the
   * failure policy decided.
   */
  readonly reason: KeyDecision['reason'] | 'skipped' | 'allow-listed';
  readonly source: DecisionSource;
  /** The client key, when one was computed. */
  readonly key: string | undefined;
  /** Units charged (or that would have been). */
  readonly cost: number;
  /** Every policy's state, in the limiter's order. Empty when not counted. */
  readonly policies: readonly PolicyState[];
  /** Names of the policies that refused the request. */
  readonly violated: readonly string[];
  /**
   * ms until a request of the same cost could pass; 0 when allowed; `RETRY_NEVER` (-1) when it
   * never can (`cost-exceeds-limit`).
   */
  readonly retryAfterMs: number;
  /** Headers to set on the response (RateLimit merged over all limiters of the request, Retry-After). */
  readonly headers: ResponseHeaders;
  /**
   * The response to send instead of the handler's: 429 when limited, 413 when the cost exceeds
   * a policy's capacity, 503 under `'closed'`.
   */
  readonly response: KeelResponse | undefined;
  /** The store failure behind a `store-unavailable` decision. */
  readonly error?: unknown;
  /** True when the adapter must call `settle(status)` once the response status is known. */
  readonly needsSettle: boolean;
  /** Report the final status (0 for an aborted connection); refunds per `skip*Requests`. Never rejects. */
  settle(status: number): Promise<void>;
  /**
   * Give this request's units back to the windows/buckets that were charged. Once only;
   * resolves false when nothing was charged or the store failed. Never rejects.
   */
  refund(): Promise<boolean>;
}

/** The largest cost every policy of the list can grant at once (its burst, or its limit). */
export function capacityOf(list: readonly PolicyState[]): number {
  return Math.min(...list.map((p) => p.burst ?? p.limit));
}

/** The default response to a refused request: 429 quota-exceeded, or 413 when it never passes. */
export function rejectionResponse(decision: RateLimitDecision): KeelResponse {
  const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
  if (decision.reason === 'limited' || decision.reason === 'blocked') {
    const spent =
      decision.reason === 'blocked'
        ? `${quoted(decision.violated)} blocked this client after its quota was exceeded`
        : `the quota of ${quoted(decision.violated)} is spent`;
    return problemResponse(
      problem({
        type: QUOTA_EXCEEDED_TYPE,
        title: QUOTA_EXCEEDED_TITLE,
        status: 429,
        code: codes.RATE_LIMITED,
        detail: `Too many requests: ${spent}; retry in ${decision.headers['retry-after']} s.`,
        'violated-policies': decision.violated,
      }),
    );
  }
  // 413: RFC 9110 §15.5.14 lets a client tell a lasting refusal (no Retry-After) from a
  // temporary one, and clients do not retry it blindly as they do a 429. `max-cost` says how
  // much smaller the request must be.
  const never = decision.policies
    .filter((p) => p.violated && p.retryAfterMs === RETRY_NEVER)
    .map((p) => p.name);
  const maxCost = capacityOf(decision.policies);
  return problemResponse(
    problem({
      title: COST_EXCEEDS_LIMIT_TITLE,
      status: 413,
      code: codes.RATE_LIMIT_COST_EXCEEDS_LIMIT,
      detail: `This request costs ${decision.cost} units, more than ${quoted(never)} can ever grant at once (at most ${maxCost}): it will never pass, so do not retry it; send a smaller request.`,
      'violated-policies': never,
      cost: decision.cost,
      'max-cost': maxCost,
    }),
  );
}

const NOTHING_TO_SETTLE = () => Promise.resolve();
const NOTHING_TO_REFUND = () => Promise.resolve(false);

export function plainDecision(init: {
  allowed: boolean;
  reason: RateLimitDecision['reason'];
  source: DecisionSource;
  key: string | undefined;
  cost: number;
  headers: ResponseHeaders;
  response?: KeelResponse;
  policies?: readonly PolicyState[];
  violated?: readonly string[];
  retryAfterMs?: number;
  error?: unknown;
}): RateLimitDecision {
  return {
    policies: [],
    violated: [],
    retryAfterMs: 0,
    response: undefined,
    ...init,
    needsSettle: false,
    settle: NOTHING_TO_SETTLE,
    refund: NOTHING_TO_REFUND,
  };
}

/** What every charged decision of one limiter shares. */
export interface DecisionSettings {
  readonly name: string;
  readonly events: KeelEvents;
  readonly failurePolicy: FailurePolicy;
  readonly needsSettle: boolean;
  readonly skipSuccessful: boolean;
  readonly skipFailed: boolean;
  readonly wasSuccessful: (req: KeelRequest, status: number) => boolean;
}

/** A key decision that charged nothing: refused, peeked, or decided by the failure policy. */
export function plainKeyDecision(init: {
  allowed: boolean;
  reason: KeyDecision['reason'];
  source: DecisionSource;
  key: string;
  cost: number;
  policies?: readonly PolicyState[];
  violated?: readonly string[];
  retryAfterMs?: number;
  error?: unknown;
}): KeyDecision {
  return { policies: [], violated: [], retryAfterMs: 0, ...init, refund: NOTHING_TO_REFUND };
}

/**
 * An allowed, charged decision by key. A class rather than an object of closures: it is created
 * on every request, and methods on the prototype cost nothing per request.
 */
export class ChargedKeyDecision implements KeyDecision {
  readonly allowed = true;
  readonly reason = 'allowed';
  readonly violated: readonly string[] = [];
  readonly retryAfterMs = 0;
  #refunded = false;

  constructor(
    protected readonly settings: DecisionSettings,
    readonly source: DecisionSource,
    readonly key: string,
    readonly cost: number,
    readonly policies: readonly PolicyState[],
    private readonly store: RateLimitStore,
    private readonly charged: StoreRefund,
  ) {}

  async refund(): Promise<boolean> {
    if (this.#refunded) return false;
    this.#refunded = true;
    const { events, name, failurePolicy } = this.settings;
    try {
      await this.store.refund(this.charged);
      events.emit('rate-limit.refunded', { limiter: name, key: this.key, cost: this.cost });
      return true;
    } catch (error) {
      events.emit(
        'rate-limit.store-failure',
        { limiter: name, operation: 'refund', failurePolicy, store: this.store.kind },
        { error },
      );
      return false;
    }
  }
}

/** An allowed, charged request: the key decision, its headers, and `settle()`. */
export class ChargedDecision extends ChargedKeyDecision implements RateLimitDecision {
  readonly response = undefined;
  #settled = false;

  constructor(
    settings: DecisionSettings,
    private readonly req: KeelRequest,
    source: DecisionSource,
    key: string,
    cost: number,
    policies: readonly PolicyState[],
    readonly headers: ResponseHeaders,
    store: RateLimitStore,
    charged: StoreRefund,
  ) {
    super(settings, source, key, cost, policies, store, charged);
  }

  get needsSettle(): boolean {
    return this.settings.needsSettle;
  }

  async settle(status: number): Promise<void> {
    const { needsSettle, skipSuccessful, skipFailed, wasSuccessful } = this.settings;
    if (this.#settled || !needsSettle) return;
    this.#settled = true;
    let success: boolean;
    try {
      success = wasSuccessful(this.req, status);
    } catch {
      success = false;
    }
    if ((success && skipSuccessful) || (!success && skipFailed)) await this.refund();
  }
}
