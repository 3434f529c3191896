/**
 * `createRateLimiter(options)`: the framework-neutral rate limiter both adapters call. One
 * `check(req)` per request: key, cost and limits from the options, one store call for all
 * policies (all or nothing), the failure policy when the store cannot answer, the deny cache,
 * headers, and the 429 response. The adapters only apply what it decided.
 */
import {
  type ClientIdentity,
  type ClientIdentityOptions,
  type Clock,
  codes as coreCodes,
  createClientIdentity,
  createWarnings,
  ExpiringMap,
  FAILURE_POLICIES,
  type FailurePolicy,
  hashKeyPart,
  isKeelError,
  isStoreFailure,
  type KeelEventListener,
  type KeelEvents,
  type KeelRequest,
  type KeelResponse,
  problem,
  problemFromError,
  problemResponse,
  type ResponseHeaders,
  systemClock,
  toEvents,
  validatorFor,
  type WarningSwitches,
} from '@keel/core';
import { RETRY_NEVER } from './algorithms/types.js';
import {
  codes,
  QUOTA_EXCEEDED_TYPE,
  RateLimitStoreFullError,
  RateLimitValueError,
} from './errors.js';
import type { DecisionSource } from './events.js';
import {
  type HeaderOptions,
  mergeRequestPolicies,
  type PolicyState,
  renderHeaders,
  STANDARD_HEADERS,
  type StandardHeaders,
} from './headers.js';
import {
  type CompiledPolicy,
  checkUnits,
  compilePolicies,
  type LimitFunction,
  NAME_PATTERN,
  type PolicyOptions,
} from './policy.js';
import { createMemoryStore } from './stores/memory.js';
import type {
  AlgorithmDecision,
  AlgorithmName,
  RateLimitStore,
  StorePolicy,
  StoreRefund,
} from './types.js';

/** The title of the draft's `quota-exceeded` problem type. */
const QUOTA_EXCEEDED_TITLE = 'Request cannot be satisfied as assigned quota has been exceeded';
/** The title of Keel's `rate-limit-cost-exceeds-limit` problem type. */
const COST_EXCEEDS_LIMIT_TITLE = 'Request costs more than the rate limit can ever grant at once';

export interface RateLimiterOptions {
  /**
   * The limiter's name: part of its Redis keys and the default policy name. Two limiters on
   * one store need different names, or they count into the same keys.
   * @default 'default'
   */
  name?: string;
  /** Where counters live: `createRedisStore({ client })` or `createMemoryStore()`. @default createMemoryStore() */
  store?: RateLimitStore;
  /**
   * The policies checked together on every request (e.g. a burst policy and an hourly one),
   * atomically: when one refuses, none is charged. Or use the single-policy shorthand
   * `limit` / `windowMs` / `algorithm` / `burst` instead.
   */
  policies?: readonly PolicyOptions[];
  /** Shorthand for one policy: units per window, or a function of (req, key). */
  limit?: number | LimitFunction;
  /** Shorthand for one policy: window length, ms. */
  windowMs?: number;
  /** Shorthand for one policy. @default 'sliding-window' */
  algorithm?: AlgorithmName;
  /** Shorthand for one policy: bucket capacity (`token-bucket`, `gcra`). @default limit */
  burst?: number;
  /**
   * The client key (user id, API key, tenant…). Hashed before it enters a Redis key, so any
   * text is safe. Must return a non-empty string.
   * @default the client address from `identity` (IPv6 grouped by /56)
   */
  keyGenerator?: (req: KeelRequest) => string | Promise<string>;
  /**
   * Client identity for the default key: a `createClientIdentity()` from @keel/core (share one
   * between features) or its options (`trustProxy`, `proxyHeader`, `ipv6Subnet`).
   * @default createClientIdentity({}) — trusts no proxy: the TCP peer is the client
   */
  identity?: ClientIdentity | ClientIdentityOptions;
  /** Units a request costs (an integer >= 1), or a function of the request. @default 1 */
  cost?: number | ((req: KeelRequest) => number | Promise<number>);
  /** Requests for which it returns true are not counted and get no headers. */
  skip?: (req: KeelRequest) => boolean | Promise<boolean>;
  /**
   * Clients never limited: client keys (or, with the default key, addresses as written, e.g.
   * `'127.0.0.1'`), or a function of (key, req).
   */
  allowList?: readonly string[] | ((key: string, req: KeelRequest) => boolean | Promise<boolean>);
  /** Give the units back when the response is successful (see `requestWasSuccessful`). @default false */
  skipSuccessfulRequests?: boolean;
  /** Give the units back when the response failed or the connection was aborted. @default false */
  skipFailedRequests?: boolean;
  /** What counts as successful for the two options above. @default status < 400 */
  requestWasSuccessful?: (req: KeelRequest, status: number) => boolean;
  /**
   * Remember refused clients in this process until their retry time, and refuse them without
   * asking the store (only for stores outside the process). `false` turns it off.
   * @default { maxEntries: 10_000 }
   */
  denyCache?: false | { maxEntries?: number };
  /**
   * Which RateLimit header format to send: `'draft-10'` (draft-ietf-httpapi-ratelimit-headers
   * -09 to -11), or express-rate-limit's `'draft-7'` / `'draft-6'`; `false` for none.
   * @default 'draft-10'
   */
  standardHeaders?: StandardHeaders | false;
  /** Also send `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds). @default false */
  legacyHeaders?: boolean;
  /**
   * Build the rejection yourself. Receives the refused request and the decision (headers,
   * violated policies, retry time) and returns the response; RateLimit headers and
   * `Retry-After` are set on top.
   * @default a 429 `application/problem+json` of type `quota-exceeded` with `violated-policies`
   */
  handler?: (req: KeelRequest, decision: RateLimitDecision) => KeelResponse | Promise<KeelResponse>;
  /**
   * When the store cannot answer in time: `'open'` lets the request through, `'closed'`
   * answers 503, `'fallback'` decides with an in-process memory limiter (same policies, per
   * process). A memory store that is full acts as `'open'` under `'fallback'`.
   * @default 'fallback'
   */
  failurePolicy?: FailurePolicy;
  /** The store `'fallback'` uses. @default createMemoryStore() */
  fallbackStore?: RateLimitStore;
  /** Receives `rate-limit.*` events and warnings. */
  events?: KeelEvents | KeelEventListener;
  /** Turn one-time warnings off by name (`sharedStore`), or all with `false`. @default true */
  warnings?: WarningSwitches;
  /** Millisecond clock of the deny cache and the default memory stores. @default Date.now */
  clock?: Clock;
}

/** What `check()` decided, with everything an adapter applies. */
export interface RateLimitDecision {
  /** True when the request may proceed. */
  readonly allowed: boolean;
  /**
   * Why: counted and allowed; refused until a retry time (`limited`); refused for good because
   * the cost exceeds what a policy can ever grant at once (`cost-exceeds-limit`); not counted
   * (skip/allow-list); or the store failed and the failure policy decided.
   */
  readonly reason:
    | 'allowed'
    | 'limited'
    | 'cost-exceeds-limit'
    | 'skipped'
    | 'allow-listed'
    | 'store-unavailable';
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

export interface RateLimiter {
  readonly name: string;
  /** Decide on a request: exactly one store call (none when skipped or deny-cached). */
  check(req: KeelRequest): Promise<RateLimitDecision>;
  /** Forget a client's counters under every policy (for scoped policies, the unscoped ones). */
  reset(key: string): Promise<void>;
}

const KNOWN = [
  'name',
  'store',
  'policies',
  'limit',
  'windowMs',
  'algorithm',
  'burst',
  'keyGenerator',
  'identity',
  'cost',
  'skip',
  'allowList',
  'skipSuccessfulRequests',
  'skipFailedRequests',
  'requestWasSuccessful',
  'denyCache',
  'standardHeaders',
  'legacyHeaders',
  'handler',
  'failurePolicy',
  'fallbackStore',
  'events',
  'warnings',
  'clock',
] as const;

/** Stores and the limiter names using them, for the `sharedStore` warning. */
const storeUsers = new WeakMap<RateLimitStore, Set<string>>();

interface DenyEntry {
  readonly cost: number;
  readonly at: number;
  readonly policies: readonly PolicyState[];
}

interface Resolved {
  readonly policies: StorePolicy[];
  readonly denyKey: string;
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const v = validatorFor('rateLimit');
  v.knownOptions(options, KNOWN);
  const name = v.string('name', options.name, 'default', {
    test: NAME_PATTERN,
    allowed: '1 to 64 letters, digits and "_.-", starting with a letter or digit',
  });
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });

  const shorthand = ['limit', 'windowMs', 'algorithm', 'burst'].filter(
    (k) => options[k as keyof RateLimiterOptions] !== undefined,
  );
  if (options.policies !== undefined && shorthand.length > 0) {
    throw v.fail(
      shorthand[0]!,
      options[shorthand[0] as keyof RateLimiterOptions],
      'undefined when "policies" is given (put it inside a policy)',
    );
  }
  const policyList: readonly PolicyOptions[] = options.policies ?? [
    {
      limit: options.limit as PolicyOptions['limit'],
      windowMs: options.windowMs as number,
      ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
      ...(options.burst === undefined ? {} : { burst: options.burst }),
    },
  ];
  const policies = compilePolicies(v, name, policyList);
  const scoped = policies.some((p) => p.scope !== undefined);
  const dynamic = policies.some((p) => typeof p.limit === 'function');

  const store = options.store ?? createMemoryStore({ clock });
  if (typeof store?.check !== 'function')
    throw v.fail('store', store, 'a rate-limit store (createRedisStore() or createMemoryStore())');
  let users = storeUsers.get(store);
  if (!users) {
    users = new Set();
    storeUsers.set(store, users);
  }
  if (users.has(name)) {
    warnings.warn(
      'sharedStore',
      `rateLimit: two limiters named "${name}" use the same store, so they count into the same keys and each request is charged twice; give each limiter its own name`,
    );
  }
  users.add(name);

  const failurePolicy = v.oneOf(
    'failurePolicy',
    options.failurePolicy,
    FAILURE_POLICIES,
    'fallback',
  );
  let fallbackStore: RateLimitStore | undefined;
  if (failurePolicy === 'fallback' && !store.localKeys) {
    fallbackStore = options.fallbackStore ?? createMemoryStore({ clock });
  }

  let identity: ClientIdentity | undefined;
  const keyGenerator = v.optionalFunc<(req: KeelRequest) => string | Promise<string>>(
    'keyGenerator',
    options.keyGenerator,
  );
  if (!keyGenerator) {
    const given = options.identity;
    identity =
      given && typeof (given as ClientIdentity).key === 'function'
        ? (given as ClientIdentity)
        : createClientIdentity({ events, ...(given as ClientIdentityOptions | undefined) });
  } else if (options.identity !== undefined) {
    throw v.fail(
      'identity',
      options.identity,
      'undefined when keyGenerator is given (the key generator decides the key)',
    );
  }

  const cost = options.cost ?? 1;
  if (typeof cost !== 'function') v.positiveInteger('cost', cost, 1, 'request units');
  const skip = v.optionalFunc<(req: KeelRequest) => boolean | Promise<boolean>>(
    'skip',
    options.skip,
  );
  const allowList = options.allowList;
  let allowSet: Set<string> | undefined;
  if (Array.isArray(allowList)) {
    if (!allowList.every((k) => typeof k === 'string'))
      throw v.fail('allowList', allowList, 'an array of strings or a function');
    allowSet = new Set(allowList);
  } else if (allowList !== undefined && typeof allowList !== 'function') {
    throw v.fail('allowList', allowList, 'an array of client keys or a function');
  }
  const skipSuccessful = v.boolean('skipSuccessfulRequests', options.skipSuccessfulRequests, false);
  const skipFailed = v.boolean('skipFailedRequests', options.skipFailedRequests, false);
  const wasSuccessful = v.func<(req: KeelRequest, status: number) => boolean>(
    'requestWasSuccessful',
    options.requestWasSuccessful,
    (_req, status) => status > 0 && status < 400,
  );
  const needsSettle = skipSuccessful || skipFailed;

  let denyCache: ExpiringMap<string, DenyEntry> | undefined;
  if (options.denyCache !== false) {
    const deny = options.denyCache ?? {};
    if (typeof deny !== 'object' || deny === null) {
      throw v.fail('denyCache', deny, 'false or { maxEntries }');
    }
    validatorFor('rateLimit.denyCache').knownOptions(deny, ['maxEntries']);
    const maxEntries = v.positiveInteger('denyCache.maxEntries', deny.maxEntries, 10_000);
    // A store in this process answers as fast as the cache would.
    if (!store.localKeys) denyCache = new ExpiringMap({ maxEntries, clock });
  }

  const headerOptions: HeaderOptions = {
    standard:
      options.standardHeaders === false
        ? false
        : v.oneOf('standardHeaders', options.standardHeaders, STANDARD_HEADERS, 'draft-10'),
    legacy: v.boolean('legacyHeaders', options.legacyHeaders, false),
  };
  const handler = v.optionalFunc<NonNullable<RateLimiterOptions['handler']>>(
    'handler',
    options.handler,
  );

  const settings: DecisionSettings = {
    name,
    events,
    failurePolicy,
    needsSettle,
    skipSuccessful,
    skipFailed,
    wasSuccessful,
  };

  // Static policies are resolved once; only dynamic limits and scopes are computed per request.
  const staticPolicies: StorePolicy[] | undefined =
    scoped || dynamic
      ? undefined
      : policies.map((p) => storePolicy(p, p.limit as number, undefined));

  async function resolve(req: KeelRequest, key: string): Promise<Resolved> {
    if (staticPolicies) return { policies: staticPolicies, denyKey: key };
    let denyKey = key;
    const list: StorePolicy[] = [];
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      let limit = p.limit;
      if (typeof limit === 'function') {
        const value = await limit(req, key);
        const option = policies.length === 1 ? 'limit' : `policies[${i}].limit`;
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
          throw new RateLimitValueError(
            option,
            `rateLimit: the "${option}" function must return an integer >= 1, got ${String(value)}`,
          );
        }
        checkUnits(
          {
            fail: (o, val, allowed) =>
              new RateLimitValueError(
                o,
                `rateLimit: the "${o}" function must return ${allowed}, got ${String(val)}`,
              ),
          },
          option,
          value,
          p.windowMs,
          p.algorithm,
        );
        limit = value;
      }
      let scope: string | undefined;
      if (p.scope === 'route') scope = `${req.method} ${req.route ?? req.path}`;
      else if (p.scope) scope = String(await p.scope(req));
      if (scope !== undefined) denyKey += `\n${i}:${scope}`;
      list.push(storePolicy(p, limit, scope));
    }
    return { policies: list, denyKey };
  }

  async function keyOf(req: KeelRequest): Promise<string> {
    if (!keyGenerator) return identity!.key(req);
    const key = await keyGenerator(req);
    if (typeof key !== 'string' || key.length === 0) {
      throw new RateLimitValueError(
        'keyGenerator',
        `rateLimit: keyGenerator must return a non-empty string, got ${key === '' ? '""' : String(key)}`,
      );
    }
    return key;
  }

  async function costOf(req: KeelRequest): Promise<number> {
    if (typeof cost !== 'function') return cost;
    const value = await cost(req);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RateLimitValueError(
        'cost',
        `rateLimit: the "cost" function must return an integer >= 1, got ${String(value)}`,
      );
    }
    return value;
  }

  async function allowListed(key: string, req: KeelRequest): Promise<boolean> {
    if (allowSet) {
      if (allowSet.has(key)) return true;
      const address = identity?.address(req);
      return address !== undefined && allowSet.has(address);
    }
    return typeof allowList === 'function' ? Boolean(await allowList(key, req)) : false;
  }

  function states(
    list: readonly StorePolicy[],
    decisions: readonly AlgorithmDecision[],
  ): PolicyState[] {
    return decisions.map((d, i) => ({
      name: policies[i]!.name,
      limit: list[i]!.limit,
      windowMs: list[i]!.windowMs,
      burst: list[i]!.burst,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterMs: d.retryAfterMs,
      violated: !d.allowed,
    }));
  }

  function passDecision(
    reason: 'skipped' | 'allow-listed',
    key: string | undefined,
  ): RateLimitDecision {
    return plainDecision({ allowed: true, reason, source: 'none', key, cost: 0, headers: {} });
  }

  /** The failure policy's decision, or `undefined` when the fallback store is to decide. */
  function failureDecision(
    key: string,
    units: number,
    error: unknown,
  ): RateLimitDecision | undefined {
    const policy = failurePolicy === 'fallback' && !fallbackStore ? 'open' : failurePolicy;
    events.emit(
      'rate-limit.store-failure',
      { limiter: name, operation: 'check', failurePolicy, store: store.kind },
      { error },
    );
    if (policy === 'open') {
      return plainDecision({
        allowed: true,
        reason: 'store-unavailable',
        source: 'failure-policy',
        key,
        cost: units,
        headers: {},
        error,
      });
    }
    if (policy === 'closed') {
      // An outage may be over in a second; a refused command or foreign data will not be, so
      // no retry time is promised for those.
      const headers: ResponseHeaders = isLasting(error) ? {} : { 'retry-after': '1' };
      return plainDecision({
        allowed: false,
        reason: 'store-unavailable',
        source: 'failure-policy',
        key,
        cost: units,
        headers,
        response: problemResponse(problemFromError(error), headers),
        error,
      });
    }
    return undefined;
  }

  async function check(req: KeelRequest): Promise<RateLimitDecision> {
    if (skip && (await skip(req))) return passDecision('skipped', undefined);
    // Plain values skip the awaits: each costs a microtask on every request.
    const key = keyGenerator ? await keyOf(req) : identity!.key(req);
    if (allowList !== undefined && (await allowListed(key, req)))
      return passDecision('allow-listed', key);
    const units = typeof cost === 'number' ? cost : await costOf(req);
    const resolved = staticPolicies
      ? { policies: staticPolicies, denyKey: key }
      : await resolve(req, key);

    if (denyCache) {
      const cached = denyCache.entry(resolved.denyKey);
      // A cost above some policy's capacity is not "limited until later": the store says so.
      if (cached && units >= cached.value.cost && units <= capacityOf(cached.value.policies)) {
        const elapsed = clock() - cached.value.at;
        const list = cached.value.policies.map((p) => ({
          ...p,
          resetMs: Math.max(0, p.resetMs - elapsed),
          retryAfterMs: p.violated ? Math.max(1, p.retryAfterMs - elapsed) : 0,
        }));
        return limited(req, key, units, list, 'deny-cache');
      }
    }

    let used = store;
    let source: DecisionSource = 'store';
    let result: Awaited<ReturnType<RateLimitStore['check']>>;
    const storeCheck = { clientKey: key, cost: units, policies: resolved.policies };
    try {
      result = await store.check(storeCheck);
    } catch (error) {
      if (!isStoreFailure(error) && !(error instanceof RateLimitStoreFullError)) throw error;
      const decided = failureDecision(key, units, error);
      if (decided) return decided;
      used = fallbackStore!;
      source = 'fallback';
      result = await used.check(storeCheck);
    }

    const list = states(resolved.policies, result.decisions);
    if (!result.allowed) {
      const decision = await limited(req, key, units, list, source);
      // Only a refusal with a retry time is worth remembering: a cost above the capacity is
      // refused by the store at once, and another request of the client may cost less.
      if (denyCache && source === 'store' && decision.reason === 'limited') {
        denyCache.set(
          resolved.denyKey,
          { cost: units, at: clock(), policies: list },
          clock() + decision.retryAfterMs,
        );
      }
      return decision;
    }
    if (events.active) events.emit('rate-limit.allowed', { limiter: name, key, source });
    const headers = renderHeaders(
      mergeRequestPolicies(req.raw, list),
      headerOptions,
      undefined,
      Date.now(),
    );
    return new ChargedDecision(settings, req, source, key, units, list, headers, used, {
      ...storeCheck,
      receipts: result.decisions.map((d) => d.receipt),
    });
  }

  async function limited(
    req: KeelRequest,
    key: string,
    units: number,
    list: PolicyState[],
    source: DecisionSource,
  ): Promise<RateLimitDecision> {
    const refusing = list.filter((p) => p.violated);
    const violated = refusing.map((p) => p.name);
    // One policy that can never grant this cost makes the request impossible, whatever the
    // others would allow later: no retry time is promised then (issue 12).
    const never = refusing.some((p) => p.retryAfterMs === RETRY_NEVER);
    const reason = never ? 'cost-exceeds-limit' : 'limited';
    const retryAfterMs = never ? RETRY_NEVER : Math.max(1, ...refusing.map((p) => p.retryAfterMs));
    events.emit('rate-limit.limited', { limiter: name, key, policies: violated, source, reason });
    const headers = renderHeaders(
      mergeRequestPolicies(req.raw, list),
      headerOptions,
      never ? undefined : retryAfterMs,
      Date.now(),
    );
    const base = plainDecision({
      allowed: false,
      reason,
      source,
      key,
      cost: units,
      headers,
      policies: list,
      violated,
      retryAfterMs,
    });
    const response = handler ? await handler(req, base) : rejectionResponse(base);
    return { ...base, response };
  }

  return {
    name,
    check,
    async reset(key) {
      await store.reset({
        clientKey: key,
        policies: policies.map((p) => storePolicy(p, 1, undefined)),
      });
    },
  };
}

/** A store failure that waiting does not cure: a missing ACL right, foreign data under a key. */
function isLasting(error: unknown): boolean {
  if (!isKeelError(error)) return false;
  return error.code === coreCodes.STORE_MISCONFIGURED || error.code === coreCodes.STORE_DATA;
}

/** The largest cost every policy of the list can grant at once (its burst, or its limit). */
function capacityOf(list: readonly PolicyState[]): number {
  return Math.min(...list.map((p) => p.burst ?? p.limit));
}

/** The default response to a refused request: 429 quota-exceeded, or 413 when it never passes. */
function rejectionResponse(decision: RateLimitDecision): KeelResponse {
  const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
  if (decision.reason === 'limited') {
    return problemResponse(
      problem({
        type: QUOTA_EXCEEDED_TYPE,
        title: QUOTA_EXCEEDED_TITLE,
        status: 429,
        code: codes.RATE_LIMITED,
        detail: `Too many requests: the quota of ${quoted(decision.violated)} is spent; retry in ${decision.headers['retry-after']} s.`,
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

function storePolicy(p: CompiledPolicy, limit: number, scope: string | undefined): StorePolicy {
  return {
    keyParts: scope === undefined ? p.keyParts : [...p.keyParts, hashKeyPart(scope)],
    algorithm: p.algorithm,
    limit,
    windowMs: p.windowMs,
    burst: p.burst ?? limit,
  };
}

const NOTHING_TO_SETTLE = () => Promise.resolve();
const NOTHING_TO_REFUND = () => Promise.resolve(false);

function plainDecision(init: {
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
interface DecisionSettings {
  readonly name: string;
  readonly events: KeelEvents;
  readonly failurePolicy: FailurePolicy;
  readonly needsSettle: boolean;
  readonly skipSuccessful: boolean;
  readonly skipFailed: boolean;
  readonly wasSuccessful: (req: KeelRequest, status: number) => boolean;
}

/**
 * An allowed, charged decision. A class rather than an object of closures: it is created on
 * every request, and methods on the prototype cost nothing per request.
 */
class ChargedDecision implements RateLimitDecision {
  readonly allowed = true;
  readonly reason = 'allowed';
  readonly violated: readonly string[] = [];
  readonly retryAfterMs = 0;
  readonly response = undefined;
  #refunded = false;
  #settled = false;

  constructor(
    private readonly settings: DecisionSettings,
    private readonly req: KeelRequest,
    readonly source: DecisionSource,
    readonly key: string,
    readonly cost: number,
    readonly policies: readonly PolicyState[],
    readonly headers: ResponseHeaders,
    private readonly store: RateLimitStore,
    private readonly charged: StoreRefund,
  ) {}

  get needsSettle(): boolean {
    return this.settings.needsSettle;
  }

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
