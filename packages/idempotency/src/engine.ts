/**
 * The framework-free engine both adapters call: `begin(req)` parses the key, computes scope and
 * fingerprint and makes one store call, returning a decision (pass, respond, execute); after
 * the handler, `finish(claim, captured)` stores the response (or releases the claim), and
 * `abandon(claim)` releases it when the handler threw. A claim renews its lease in the
 * background while the handler runs.
 */
import { randomUUID } from 'node:crypto';
import {
  type CaptureResult,
  createWarnings,
  headerValue,
  isStoreFailure,
  type KeelEventListener,
  type KeelEvents,
  type KeelRequest,
  type KeelResponse,
  pickHeaders,
  problemFromError,
  problemResponse,
  toEvents,
  validatorFor,
  type WarningSwitches,
} from '@keel/core';
import {
  IdempotencyBodyTooDeepError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyResponseNotStoredError,
  IdempotencyScopeError,
} from './errors.js';
import './events.js';
import {
  DEFAULT_MAX_BODY_DEPTH,
  defaultFingerprint,
  hashFingerprint,
  sha256,
} from './fingerprint.js';
import { parseIdempotencyKey } from './key-header.js';
import { createMemoryIdempotencyStore } from './stores/memory.js';
import type { AcquireOutcome, AcquireRequest, IdempotencyStore, StoredResponse } from './types.js';

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

/** A claim: this request owns its record and runs the handler. Hand it back to `finish`. */
export interface IdempotencyClaim {
  /** Opaque record id (a hash of scope and key), as in events. */
  readonly record: string;
}

/** Why the engine answered on its own. */
export type IdempotencyResponseReason =
  | 'replayed'
  | 'in-flight'
  | 'mismatch'
  | 'not-stored'
  | 'key-missing'
  | 'key-invalid'
  | 'body-too-deep'
  | 'store-unavailable';

/** What the adapter does with a request. */
export type IdempotencyDecision =
  /** Not covered (method, or no key where none is required): run the handler as usual. */
  | { kind: 'pass' }
  /** Answer with `response` (a replay or a problem); the handler does not run. */
  | { kind: 'respond'; reason: IdempotencyResponseReason; response: KeelResponse }
  /** Run the handler, capture its response and call `finish(claim, captured)`. */
  | { kind: 'execute'; claim: IdempotencyClaim };

export interface Idempotency<Raw = unknown> {
  /** Decide on a request with one store call (more only while waiting, see `waitMs`). */
  begin(req: KeelRequest<Raw>): Promise<IdempotencyDecision>;
  /** Store the captured response, or release the claim. Never rejects (failures are events). */
  finish(claim: IdempotencyClaim, captured: CaptureResult): Promise<void>;
  /** The handler threw: release the claim so the client may retry. Never rejects. */
  abandon(claim: IdempotencyClaim, error?: unknown): Promise<void>;
  /** The capture limit adapters pass to `captureResponse`. */
  readonly maxResponseBytes: number;
  readonly store: IdempotencyStore;
}

interface ClaimState {
  /** The engine that made the claim: another engine's finish/abandon ignores it. */
  readonly engine: object;
  readonly token: string;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  /** A renewal is in progress: a slow store never gets two at once for one claim. */
  renewing: boolean;
}

/** A claim as handed to adapters: the record id in view, the owner token out of reach. */
class Claim implements IdempotencyClaim {
  readonly record: string;
  readonly #state: ClaimState;

  constructor(record: string, state: ClaimState) {
    this.record = record;
    this.#state = state;
    Object.freeze(this);
  }

  /** The state of a claim made by `engine`, or undefined (a foreign or forged claim). */
  static stateOf(claim: IdempotencyClaim, engine: object): ClaimState | undefined {
    if (!(claim instanceof Claim)) return undefined;
    const state = claim.#state;
    return state.engine === engine ? state : undefined;
  }
}

const KNOWN = [
  'scope',
  'store',
  'methods',
  'required',
  'headerName',
  'maxKeyLength',
  'acceptUnquotedKeys',
  'leaseMs',
  'renewEveryMs',
  'retentionMs',
  'waitMs',
  'replayHeaders',
  'storeStatusClasses',
  'maxResponseBytes',
  'fingerprint',
  'fingerprintHeaders',
  'maxBodyDepth',
  'events',
  'warnings',
] as const;

const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Build the engine. Invalid options throw `KeelOptionError` here, not on the first request. */
export function createIdempotency<Raw = unknown>(
  options: IdempotencyOptions<Raw>,
): Idempotency<Raw> {
  const v = validatorFor('idempotency');
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
  const store = options.store ?? createMemoryIdempotencyStore();
  if (typeof store !== 'object' || typeof store.acquire !== 'function') {
    throw v.fail('store', store, 'an IdempotencyStore (createRedisIdempotencyStore(), …)');
  }
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
  const leaseMs = v.positiveInteger('leaseMs', options.leaseMs, 30_000, 'milliseconds');
  const renewEveryMs = v.integerInRange(
    'renewEveryMs',
    options.renewEveryMs,
    Math.floor(leaseMs / 3),
    0,
    leaseMs - 1,
    'milliseconds, less than leaseMs; 0 disables the heartbeat',
  );
  const retentionMs = v.integerInRange(
    'retentionMs',
    options.retentionMs,
    86_400_000,
    leaseMs,
    Number.MAX_SAFE_INTEGER,
    'milliseconds, at least leaseMs',
  );
  const waitMs = v.nonNegativeInteger('waitMs', options.waitMs, 0, 'milliseconds');
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
  const events = toEvents(options.events);
  const warnings = createWarnings({ switches: options.warnings, events });
  if (scope === false) {
    warnings.warn(
      'unscopedIdempotency',
      "idempotency() runs with scope: false: every client shares one key space, so a client that reuses (or guesses) another client's Idempotency-Key gets 409/422 or even that client's stored response. Pass scope: (req) => userId unless keys are unguessable and responses are not private",
    );
  }

  /** Identifies this engine's claims. */
  const self = {};

  /** The default fingerprint (custom ones are awaited in `begin`). */
  function defaultFingerprintOf(req: KeelRequest<Raw>): string {
    if (!req.bodyParsed && req.rawBody === undefined && hasBody(req)) {
      warnings.warn(
        'idempotencyWithoutBody',
        'idempotency() saw a request with a body but no parsed body, so its fingerprint leaves the body out and two requests that differ only in their body would share a response. Register the body parser (express.json(), @koa/bodyparser…) before idempotency()',
      );
    }
    return defaultFingerprint(req, fingerprintHeaders, maxBodyDepth);
  }

  /** Claim with one store call; with `waitMs`, keep asking while the key is in flight. */
  function acquire(record: string, token: string, fingerprint: string): Promise<AcquireOutcome> {
    const request = { record, token, fingerprint, leaseMs, retentionMs };
    return waitMs === 0 ? store.acquire(request) : acquireWaiting(request);
  }

  async function acquireWaiting(request: AcquireRequest): Promise<AcquireOutcome> {
    const { record } = request;
    let outcome = await store.acquire(request);
    if (outcome.kind !== 'in-flight') return outcome;
    // Bounded wait-and-replay: poll with backoff until the other request finishes or waitMs ends.
    events.emit('idempotency.waiting', { record, retryAfterMs: outcome.retryAfterMs });
    const deadline = performance.now() + waitMs;
    let delay = 20;
    while (outcome.kind === 'in-flight') {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(delay, left, Math.max(outcome.retryAfterMs, 1)));
      delay = Math.min(delay * 2, 250);
      outcome = await store.acquire(request);
    }
    return outcome;
  }

  /** One heartbeat of a claim (a timer callback shared by all claims: no closure per claim). */
  function heartbeat(record: string, state: ClaimState): void {
    if (state.renewing || state.settled) return;
    state.renewing = true;
    store.renew(record, state.token, leaseMs, retentionMs).then(
      (outcome) => {
        state.renewing = false;
        if (outcome.ok) return;
        stopHeartbeat(state);
        events.emit('idempotency.fenced', { record, operation: 'renew', reason: outcome.reason });
      },
      (error: unknown) => {
        state.renewing = false;
        events.emit('idempotency.store-error', { record, operation: 'renew' }, { error });
      },
    );
  }

  function startHeartbeat(record: string, state: ClaimState): void {
    if (renewEveryMs === 0) return;
    state.timer = setInterval(heartbeat, renewEveryMs, record, state);
    // A heartbeat must never keep the process alive.
    state.timer.unref();
  }

  function stopHeartbeat(state: ClaimState): void {
    if (state.timer) clearInterval(state.timer);
    state.timer = undefined;
  }

  /** Take the claim's state once: the first of finish/abandon wins. */
  function settle(claim: IdempotencyClaim): ClaimState | undefined {
    const state = Claim.stateOf(claim, self);
    if (!state || state.settled) return undefined;
    state.settled = true;
    stopHeartbeat(state);
    return state;
  }

  async function release(
    claim: IdempotencyClaim,
    state: ClaimState,
    reason: 'status' | 'error',
    status?: number,
  ): Promise<void> {
    try {
      const outcome = await store.release(claim.record, state.token);
      if (!events.active) return;
      if (outcome.ok) {
        events.emit('idempotency.released', {
          record: claim.record,
          reason,
          ...(status === undefined ? {} : { status }),
        });
      } else {
        events.emit('idempotency.fenced', {
          record: claim.record,
          operation: 'release',
          reason: outcome.reason,
        });
      }
    } catch (error) {
      events.emit(
        'idempotency.store-error',
        { record: claim.record, operation: 'release' },
        { error },
      );
    }
  }

  return {
    maxResponseBytes,
    store,

    async begin(req) {
      if (!methods.includes(req.method.toUpperCase())) return { kind: 'pass' };
      const header = headerValue(req.headers, headerName);
      if (header === undefined) {
        if (!required) return { kind: 'pass' };
        events.emit('idempotency.rejected', { reason: 'key-missing' });
        return reject('key-missing', new IdempotencyKeyMissingError(headerName));
      }
      const parsed = parseIdempotencyKey(header, keyRules);
      if (!parsed.ok) {
        events.emit('idempotency.rejected', { reason: 'key-invalid' });
        return reject('key-invalid', new IdempotencyKeyInvalidError(parsed.reason));
      }
      let owner = '';
      if (scope) {
        let value = scope(req);
        // A synchronous scope costs no extra turn of the microtask queue.
        if (typeof value === 'object' && value !== null) value = await value;
        if (typeof value !== 'string' || value.length === 0) {
          throw new IdempotencyScopeError(value === '' ? 'an empty string' : String(value));
        }
        owner = value;
      }
      // 132 bits of SHA-256, like core's hashKeyPart: safe inside a hash tag, reveals nothing.
      const record = sha256(JSON.stringify([owner, parsed.key])).slice(0, 22);
      let fingerprint: string;
      try {
        fingerprint = customFingerprint
          ? hashFingerprint(await customFingerprint(req))
          : defaultFingerprintOf(req);
      } catch (error) {
        // A body the fingerprint refuses is the client's fault: 400, nothing stored.
        if (!(error instanceof IdempotencyBodyTooDeepError)) throw error;
        events.emit('idempotency.rejected', { reason: 'body-too-deep' });
        return reject('body-too-deep', error, {}, { maxDepth: error.maxDepth });
      }
      const token = randomUUID();

      let outcome: AcquireOutcome;
      try {
        outcome = await acquire(record, token, fingerprint);
      } catch (error) {
        if (!isStoreFailure(error)) throw error;
        events.emit('idempotency.rejected', { reason: 'store-unavailable' }, { error });
        // Fail closed: the handler never runs without a claim.
        return {
          kind: 'respond',
          reason: 'store-unavailable',
          response: problemResponse(problemFromError(error), { 'retry-after': '1' }),
        };
      }

      switch (outcome.kind) {
        case 'claimed':
        case 'taken-over': {
          const state: ClaimState = {
            engine: self,
            token,
            settled: false,
            timer: undefined,
            renewing: false,
          };
          startHeartbeat(record, state);
          if (outcome.kind === 'taken-over') {
            events.emit('idempotency.taken-over', { record, expiredMsAgo: outcome.expiredMsAgo });
          } else if (events.active) {
            events.emit('idempotency.claimed', { record });
          }
          return { kind: 'execute', claim: new Claim(record, state) };
        }
        case 'replay':
          if (events.active) {
            events.emit('idempotency.replayed', { record, status: outcome.response.status });
          }
          return { kind: 'respond', reason: 'replayed', response: replay(outcome.response) };
        case 'in-flight': {
          events.emit('idempotency.in-flight', { record, retryAfterMs: outcome.retryAfterMs });
          const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
          return reject('in-flight', new IdempotencyRequestInFlightError(seconds), {
            'retry-after': String(seconds),
          });
        }
        case 'mismatch':
          events.emit('idempotency.mismatch', { record });
          return reject('mismatch', new IdempotencyKeyReusedError());
        case 'not-stored':
          events.emit('idempotency.not-stored', { record, status: outcome.status });
          return reject(
            'not-stored',
            new IdempotencyResponseNotStoredError(outcome.status),
            {},
            {
              originalStatus: outcome.status,
            },
          );
      }
    },

    async finish(claim, captured) {
      const state = settle(claim);
      if (!state) return;
      if (captured.kind === 'aborted') {
        // The handler may still be running (Express reports a client disconnect early), so the
        // claim is neither completed nor released: it lapses when its lease ends.
        events.emit('idempotency.aborted', { record: claim.record });
        return;
      }
      const status = captured.kind === 'complete' ? captured.response.status : captured.status;
      if (!storeClasses.has(statusClass(status))) {
        await release(claim, state, 'status', status);
        return;
      }
      const completion =
        captured.kind === 'complete'
          ? {
              stored: true as const,
              response: {
                status,
                headers: pickHeaders(captured.response.headers, replayHeaders),
                body: captured.response.body,
              },
            }
          : { stored: false as const, status };
      try {
        const outcome = await store.complete(claim.record, state.token, completion, retentionMs);
        if (outcome.ok) {
          if (!events.active) return;
          events.emit('idempotency.completed', {
            record: claim.record,
            status,
            stored: completion.stored,
          });
        } else {
          events.emit('idempotency.fenced', {
            record: claim.record,
            operation: 'complete',
            reason: outcome.reason,
          });
        }
      } catch (error) {
        events.emit(
          'idempotency.store-error',
          { record: claim.record, operation: 'complete' },
          { error },
        );
      }
    },

    async abandon(claim) {
      const state = settle(claim);
      if (state) await release(claim, state, 'error');
    },
  };
}

function reject(
  reason: IdempotencyResponseReason,
  error: { status: number } & Error,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): IdempotencyDecision {
  return {
    kind: 'respond',
    reason,
    response: problemResponse({ ...problemFromError(error), ...extensions }, headers),
  };
}

function replay(stored: StoredResponse): KeelResponse {
  return {
    status: stored.status,
    headers: { ...stored.headers, 'idempotent-replayed': 'true' },
    body: stored.body,
  };
}

function statusClass(status: number): StatusClass {
  return `${Math.min(5, Math.max(2, Math.floor(status / 100)))}xx` as StatusClass;
}

function hasBody(req: KeelRequest): boolean {
  const length = headerValue(req.headers, 'content-length');
  if (length !== undefined) return Number(length) > 0;
  return headerValue(req.headers, 'transfer-encoding') !== undefined;
}

function stringList(
  v: ReturnType<typeof validatorFor>,
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
