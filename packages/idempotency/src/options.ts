/**
 * The options of the HTTP engine (`createIdempotency`, the Express and Koa `idempotency()`),
 * parsed once into a named configuration, and the settings every claim keeper shares with the
 * function API (`parseClaimSettings`). Every invalid value fails at construction with a message
 * naming the option.
 */
import {
  createWarnings,
  type KeelEventListener,
  type KeelEvents,
  type KeelRequest,
  optionNames,
  toEvents,
  type Validator,
  type WarningSwitches,
  type Warnings,
} from '@keel/core';
import type { ClaimSettings } from './claims.js';
import { DEFAULT_MAX_BODY_DEPTH } from './fingerprint.js';
import { createMemoryIdempotencyStore } from './stores/memory.js';
import type { IdempotencyStore } from './types.js';

/** A class of response statuses, for {@link IdempotencyOptions.storeStatusClasses}. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx';

/**
 * Headers replayed by default (besides `replayHeaders`). `Content-Encoding` belongs to the
 * stored bytes (a handler or a compression middleware mounted after idempotency() may have
 * encoded them). `Set-Cookie` is never stored.
 */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = Object.freeze([
  'content-type',
  'content-encoding',
  'location',
  'etag',
  'link',
  'cache-control',
]);

/** Options of `createIdempotency()` and of the Express and Koa `idempotency()` middleware. */
export interface IdempotencyOptions<Raw = unknown> {
  /**
   * Who a key belongs to: the user, tenant or API key of the request (from `req.raw`, the
   * framework's request). Records are kept per scope, so two clients using the same key never
   * see each other's responses. Required: pass `false` to share one key space between all
   * clients on purpose (a one-time warning says so).
   */
  scope: ((req: KeelRequest<Raw>) => string | undefined | Promise<string | undefined>) | false;
  /** Where records live. @default a memory store per middleware (one process only) */
  store?: IdempotencyStore;
  /** Methods the middleware applies to; others pass through untouched. @default ['POST', 'PATCH'] */
  methods?: readonly string[];
  /** Answer 400 when the header is missing, instead of running unprotected. @default false */
  required?: boolean;
  /** Request header carrying the key. @default 'Idempotency-Key' */
  headerName?: string;
  /** Longest key accepted, characters; longer keys get 400. @default 255 */
  maxKeyLength?: number;
  /**
   * Also accept an unquoted key (`Idempotency-Key: abc-123`), as Stripe-style clients send,
   * besides the structured-field string the draft specifies (`"abc-123"`). @default false
   */
  acceptUnquotedKeys?: boolean;
  /**
   * How long a claim stays exclusive without a heartbeat, ms: a worker that dies mid-request
   * blocks its key (409) for at most this long, then a retry takes over. @default 30_000
   */
  leaseMs?: number;
  /** Heartbeat period of a running handler's lease, ms; 0 disables it. @default leaseMs / 3 */
  renewEveryMs?: number;
  /** How long a completed response is replayed, ms (from completion). @default 86_400_000 (24 h) */
  retentionMs?: number;
  /**
   * When the same key is in flight, wait up to this long for it to finish and replay its
   * response instead of answering 409 at once, ms. @default 0 (answer 409 at once)
   */
  waitMs?: number;
  /**
   * Response headers stored and replayed, added to {@link DEFAULT_REPLAY_HEADERS}. `Set-Cookie`
   * and hop-by-hop headers are never stored, even when listed. @default []
   */
  replayHeaders?: readonly string[];
  /**
   * Status classes whose responses are stored and replayed; for any other status (and when the
   * handler throws) the claim is released so the client may retry. @default ['2xx', '3xx', '4xx']
   */
  storeStatusClasses?: readonly StatusClass[];
  /**
   * Largest response body stored, bytes. A larger response is still sent, but only its status is
   * kept: retries get 410 `idempotency-response-not-stored`, never a second execution.
   * @default 1_048_576 (1 MiB)
   */
  maxResponseBytes?: number;
  /**
   * Replace the default fingerprint (method, path, canonical query, chosen headers, body) with
   * your own; the value is hashed. @default undefined (the default fingerprint)
   */
  fingerprint?: (req: KeelRequest<Raw>) => string | Uint8Array | Promise<string | Uint8Array>;
  /** Request headers that are part of the default fingerprint. @default [] */
  fingerprintHeaders?: readonly string[];
  /**
   * Deepest nesting of arrays and objects in a JSON body the default fingerprint accepts; a
   * deeper body gets 400 `idempotency-body-too-deep` before any record is touched. @default 100
   */
  maxBodyDepth?: number;
  /** Receives `idempotency.*` events. */
  events?: KeelEvents | KeelEventListener;
  /** Turn one-time warnings off by name (`unscopedIdempotency`, `idempotencyWithoutBody`). */
  warnings?: WarningSwitches;
}

const KNOWN = optionNames<IdempotencyOptions>({
  scope: true,
  store: true,
  methods: true,
  required: true,
  headerName: true,
  maxKeyLength: true,
  acceptUnquotedKeys: true,
  leaseMs: true,
  renewEveryMs: true,
  retentionMs: true,
  waitMs: true,
  replayHeaders: true,
  storeStatusClasses: true,
  maxResponseBytes: true,
  fingerprint: true,
  fingerprintHeaders: true,
  maxBodyDepth: true,
  events: true,
  warnings: true,
});

const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The options every claim keeper takes (the HTTP engine's and the function API's). */
export interface ClaimOptions {
  store?: IdempotencyStore | undefined;
  leaseMs?: number | undefined;
  renewEveryMs?: number | undefined;
  retentionMs?: number | undefined;
  waitMs?: number | undefined;
  events?: KeelEvents | KeelEventListener | undefined;
}

/** Store, lease, heartbeat, retention, wait and events: validated the same way everywhere. */
export function parseClaimSettings(v: Validator, options: ClaimOptions): ClaimSettings {
  const store = options.store ?? createMemoryIdempotencyStore();
  if (typeof store !== 'object' || typeof store.acquire !== 'function') {
    throw v.fail('store', store, 'an IdempotencyStore (createRedisIdempotencyStore(), …)');
  }
  const leaseMs = v.positiveInteger('leaseMs', options.leaseMs, 30_000, 'ms');
  const renewEveryMs = v.integerInRange(
    'renewEveryMs',
    options.renewEveryMs,
    Math.floor(leaseMs / 3),
    0,
    leaseMs - 1,
    'ms, less than leaseMs; 0 disables the heartbeat',
  );
  const retentionMs = v.integerInRange(
    'retentionMs',
    options.retentionMs,
    86_400_000,
    leaseMs,
    Number.MAX_SAFE_INTEGER,
    'ms, at least leaseMs',
  );
  const waitMs = v.nonNegativeInteger('waitMs', options.waitMs, 0, 'ms');
  const events = toEvents(options.events);
  return { store, leaseMs, renewEveryMs, retentionMs, waitMs, events };
}

/** The parsed options of one HTTP engine. */
export interface EngineConfig<Raw> {
  readonly claims: ClaimSettings;
  readonly warnings: Warnings;
  readonly scope: Exclude<IdempotencyOptions<Raw>['scope'], false> | false;
  readonly methods: readonly string[];
  readonly required: boolean;
  readonly headerName: string;
  readonly keyRules: { readonly maxKeyLength: number; readonly acceptUnquotedKeys: boolean };
  readonly replayHeaders: readonly string[];
  readonly storeClasses: ReadonlySet<StatusClass>;
  readonly maxResponseBytes: number;
  readonly customFingerprint: IdempotencyOptions<Raw>['fingerprint'];
  readonly fingerprintHeaders: readonly string[];
  readonly maxBodyDepth: number;
}

export function parseIdempotencyOptions<Raw>(
  v: Validator,
  options: IdempotencyOptions<Raw>,
): EngineConfig<Raw> {
  v.knownOptions(options, KNOWN);
  if (options.scope === undefined) {
    throw v.fail(
      'scope',
      undefined,
      "a function returning the caller's user, tenant or API-key id (records are kept per scope, so two clients' keys never collide), or false to share keys between all clients on purpose",
    );
  }
  type ScopeFn = Exclude<IdempotencyOptions<Raw>['scope'], false>;
  const scope = options.scope === false ? false : v.func<ScopeFn>('scope', options.scope);
  const methods = stringList(v, 'methods', options.methods, ['POST', 'PATCH']).map((m) =>
    m.toUpperCase(),
  );
  const required = v.boolean('required', options.required, false);
  const headerName = v.string('headerName', options.headerName, 'Idempotency-Key', {
    test: HEADER_NAME,
    allowed: 'an HTTP header name',
  });
  const keyRules = {
    maxKeyLength: v.integerInRange('maxKeyLength', options.maxKeyLength, 255, 1, 8192),
    acceptUnquotedKeys: v.boolean('acceptUnquotedKeys', options.acceptUnquotedKeys, false),
  };
  const replayHeaders = [
    ...DEFAULT_REPLAY_HEADERS,
    ...stringList(v, 'replayHeaders', options.replayHeaders, []).map((h) => h.toLowerCase()),
  ];
  const storeClasses = new Set(
    stringList(v, 'storeStatusClasses', options.storeStatusClasses, ['2xx', '3xx', '4xx']).map(
      (c) => v.oneOf('storeStatusClasses', c, STATUS_CLASSES),
    ),
  );
  const maxResponseBytes = v.positiveInteger(
    'maxResponseBytes',
    options.maxResponseBytes,
    1024 * 1024,
    'bytes',
  );
  const customFingerprint = v.optionalFunc<NonNullable<IdempotencyOptions<Raw>['fingerprint']>>(
    'fingerprint',
    options.fingerprint,
  );
  const fingerprintHeaders = stringList(v, 'fingerprintHeaders', options.fingerprintHeaders, []);
  const maxBodyDepth = v.integerInRange(
    'maxBodyDepth',
    options.maxBodyDepth,
    DEFAULT_MAX_BODY_DEPTH,
    1,
    10_000,
    'levels of nested arrays and objects',
  );
  const claims = parseClaimSettings(v, options);
  const { events } = claims;
  const warnings = createWarnings({ switches: options.warnings, events });
  if (scope === false) {
    warnings.warn(
      'unscopedIdempotency',
      "idempotency() runs with scope: false: every client shares one key space, so a client that reuses (or guesses) another client's Idempotency-Key gets 409/422 or even that client's stored response. Pass scope: (req) => userId unless keys are unguessable and responses are not private",
    );
  }

  return {
    ...{ claims, warnings, scope, methods, required, headerName, keyRules, replayHeaders },
    ...{ storeClasses, maxResponseBytes, customFingerprint, fingerprintHeaders, maxBodyDepth },
  };
}

export function stringList(
  v: Validator,
  option: string,
  value: unknown,
  fallback: readonly string[],
): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw v.fail(option, value, 'an array of non-empty strings');
  }
  return [...(value as string[])];
}
