/**
 * The limiter's options, parsed once into a named configuration (`parseOptions`), as
 * express-rate-limit does: everything a request depends on is in one inspectable object, and
 * every invalid value fails at construction with a message naming the option.
 */
import {
  type ClientIdentity,
  type ClientIdentityOptions,
  type Clock,
  createClientIdentity,
  createWarnings,
  ExpiringMap,
  FAILURE_POLICIES,
  type FailurePolicy,
  type KeelEventListener,
  type KeelEvents,
  type KeelRequest,
  type KeelResponse,
  optionNames,
  systemClock,
  toEvents,
  type Validator,
  validatorFor,
  type WarningSwitches,
  type Warnings,
} from '@keel/core';
import type { DecisionSettings, RateLimitDecision } from './decision.js';
import {
  type HeaderOptions,
  type PolicyState,
  STANDARD_HEADERS,
  type StandardHeaders,
} from './headers.js';
import {
  type CompiledPolicy,
  compilePolicies,
  type LimitFunction,
  NAME_PATTERN,
  type PolicyOptions,
  storePolicy,
} from './policy.js';
import { createMemoryStore } from './stores/memory.js';
import type { AlgorithmName, RateLimitStore, StorePolicy } from './types.js';

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

const KNOWN = optionNames<RateLimiterOptions>({
  name: true,
  store: true,
  policies: true,
  limit: true,
  windowMs: true,
  algorithm: true,
  burst: true,
  keyGenerator: true,
  identity: true,
  cost: true,
  skip: true,
  allowList: true,
  skipSuccessfulRequests: true,
  skipFailedRequests: true,
  requestWasSuccessful: true,
  denyCache: true,
  standardHeaders: true,
  legacyHeaders: true,
  handler: true,
  failurePolicy: true,
  fallbackStore: true,
  events: true,
  warnings: true,
  clock: true,
});

/** A refused client remembered until its retry time (only for stores outside the process). */
export interface DenyEntry {
  readonly cost: number;
  readonly at: number;
  readonly policies: readonly PolicyState[];
}

type KeyGenerator = (req: KeelRequest) => string | Promise<string>;
type CostFunction = (req: KeelRequest) => number | Promise<number>;
type AllowFunction = (key: string, req: KeelRequest) => boolean | Promise<boolean>;

/** The parsed options: what every request of one limiter reads. */
export interface LimiterConfig {
  readonly name: string;
  readonly clock: Clock;
  readonly events: KeelEvents;
  readonly policies: readonly CompiledPolicy[];
  /** The store policies, resolved once when no limit is dynamic and no policy is scoped. */
  readonly staticPolicies: readonly StorePolicy[] | undefined;
  readonly store: RateLimitStore;
  /** The in-memory limiter of `'fallback'`; undefined for other policies or a memory store. */
  readonly fallbackStore: RateLimitStore | undefined;
  readonly failurePolicy: FailurePolicy;
  /** The application's key function, or undefined for the client address of `identity`. */
  readonly keyGenerator: KeyGenerator | undefined;
  readonly identity: ClientIdentity | undefined;
  readonly cost: number | CostFunction;
  readonly skip: ((req: KeelRequest) => boolean | Promise<boolean>) | undefined;
  readonly allowList: readonly string[] | AllowFunction | undefined;
  /** `allowList` as a set, when it is a list. */
  readonly allowSet: ReadonlySet<string> | undefined;
  readonly denyCache: ExpiringMap<string, DenyEntry> | undefined;
  readonly headers: HeaderOptions;
  readonly handler: RateLimiterOptions['handler'];
  readonly settings: DecisionSettings;
}

/** Stores and the limiter names using them, for the `sharedStore` warning. */
const storeUsers = new WeakMap<RateLimitStore, Set<string>>();

export function parseOptions(options: RateLimiterOptions): LimiterConfig {
  const v = validatorFor('rateLimit');
  v.knownOptions(options, KNOWN);
  const name = v.string('name', options.name, 'default', {
    test: NAME_PATTERN,
    allowed: '1 to 64 letters, digits and "_.-", starting with a letter or digit',
  });
  const clock = v.func<Clock>('clock', options.clock, systemClock);
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  const policies = compilePolicies(v, name, policyList(v, options));
  const stores = parseStores(v, options, name, clock, warnings, events);
  const key = parseKey(v, options, events);
  const counting = parseCounting(v, options);
  const settle = parseSettle(v, options);
  const denyCache = parseDenyCache(v, options.denyCache, stores.store, clock);
  const headers = parseHeaders(v, options);
  const handler = v.optionalFunc<NonNullable<RateLimiterOptions['handler']>>(
    'handler',
    options.handler,
  );
  // Static policies are resolved once; only dynamic limits and scopes are computed per request.
  const perRequest = policies.some((p) => p.scope !== undefined || typeof p.limit === 'function');
  const staticPolicies = perRequest
    ? undefined
    : policies.map((p) => storePolicy(p, p.limit as number, undefined));
  const settings = { name, events, failurePolicy: stores.failurePolicy, ...settle };
  return {
    ...{ name, clock, events, policies, staticPolicies, ...stores, ...key, ...counting },
    ...{ denyCache, headers, handler, settings },
  };
}

/** The policies, from `policies` or the single-policy shorthand (never both). */
function policyList(v: Validator, options: RateLimiterOptions): readonly PolicyOptions[] {
  const shorthand = (['limit', 'windowMs', 'algorithm', 'burst'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (options.policies !== undefined && shorthand.length > 0) {
    throw v.fail(
      shorthand[0]!,
      options[shorthand[0]!],
      'undefined when "policies" is given (put it inside a policy)',
    );
  }
  return (
    options.policies ?? [
      {
        limit: options.limit as PolicyOptions['limit'],
        windowMs: options.windowMs as number,
        algorithm: options.algorithm,
        burst: options.burst,
      },
    ]
  );
}

function parseStores(
  v: Validator,
  options: RateLimiterOptions,
  name: string,
  clock: Clock,
  warnings: Warnings,
  events: KeelEvents,
): Pick<LimiterConfig, 'store' | 'fallbackStore' | 'failurePolicy'> {
  // The default stores report evictions (and their one-time warning) with the limiter's events.
  const memory = { clock, events, warnings: options.warnings };
  const store = options.store ?? createMemoryStore(memory);
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
  // A memory store has nothing to fall back from: it acts as 'open' when it is full.
  const fallbackStore =
    failurePolicy === 'fallback' && !store.localKeys
      ? (options.fallbackStore ?? createMemoryStore(memory))
      : undefined;
  return { store, fallbackStore, failurePolicy };
}

function parseKey(
  v: Validator,
  options: RateLimiterOptions,
  events: KeelEvents,
): Pick<LimiterConfig, 'keyGenerator' | 'identity'> {
  const keyGenerator = v.optionalFunc<KeyGenerator>('keyGenerator', options.keyGenerator);
  if (keyGenerator) {
    if (options.identity !== undefined) {
      throw v.fail(
        'identity',
        options.identity,
        'undefined when keyGenerator is given (the key generator decides the key)',
      );
    }
    return { keyGenerator, identity: undefined };
  }
  const given = options.identity;
  const identity =
    given && typeof (given as ClientIdentity).key === 'function'
      ? (given as ClientIdentity)
      : createClientIdentity({ events, ...(given as ClientIdentityOptions | undefined) });
  return { keyGenerator: undefined, identity };
}

function parseCounting(
  v: Validator,
  options: RateLimiterOptions,
): Pick<LimiterConfig, 'cost' | 'skip' | 'allowList' | 'allowSet'> {
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
  return { cost, skip, allowList, allowSet };
}

function parseSettle(
  v: Validator,
  options: RateLimiterOptions,
): Omit<DecisionSettings, 'name' | 'events' | 'failurePolicy'> {
  const skipSuccessful = v.boolean('skipSuccessfulRequests', options.skipSuccessfulRequests, false);
  const skipFailed = v.boolean('skipFailedRequests', options.skipFailedRequests, false);
  const wasSuccessful = v.func<(req: KeelRequest, status: number) => boolean>(
    'requestWasSuccessful',
    options.requestWasSuccessful,
    (_req, status) => status > 0 && status < 400,
  );
  return { needsSettle: skipSuccessful || skipFailed, skipSuccessful, skipFailed, wasSuccessful };
}

const KNOWN_DENY_CACHE = optionNames<Exclude<RateLimiterOptions['denyCache'], false | undefined>>({
  maxEntries: true,
});

function parseDenyCache(
  v: Validator,
  option: RateLimiterOptions['denyCache'],
  store: RateLimitStore,
  clock: Clock,
): ExpiringMap<string, DenyEntry> | undefined {
  if (option === false) return undefined;
  const deny = option ?? {};
  if (typeof deny !== 'object' || deny === null) {
    throw v.fail('denyCache', deny, 'false or { maxEntries }');
  }
  validatorFor('rateLimit.denyCache').knownOptions(deny, KNOWN_DENY_CACHE);
  const maxEntries = v.positiveInteger('denyCache.maxEntries', deny.maxEntries, 10_000);
  // A store in this process answers as fast as the cache would.
  return store.localKeys ? undefined : new ExpiringMap({ maxEntries, clock });
}

function parseHeaders(v: Validator, options: RateLimiterOptions): HeaderOptions {
  return {
    standard:
      options.standardHeaders === false
        ? false
        : v.oneOf('standardHeaders', options.standardHeaders, STANDARD_HEADERS, 'draft-10'),
    legacy: v.boolean('legacyHeaders', options.legacyHeaders, false),
  };
}
