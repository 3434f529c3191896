/**
 * The HTTP engine both adapters call, a layer over the key-level claims (claims.ts) that the
 * function API uses too: `begin(req)` parses the Idempotency-Key header, computes the record id
 * from scope and key and the request's fingerprint, and claims the record with one store call,
 * returning a decision (pass, respond, execute); after the handler, `finish(claim, captured)`
 * stores the response (or releases the claim), and `abandon(claim)` releases it when the
 * handler threw. A claim renews its lease in the background while the handler runs.
 */
import {
  type CaptureResult,
  headerValue,
  isStoreFailure,
  type KeelRequest,
  type KeelResponse,
  pickHeaders,
  problemFromError,
  problemResponse,
  validatorFor,
} from '@keel/core';
import { ClaimKeeper, type ClaimOutcome, type IdempotencyClaim } from './claims.js';
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
import { defaultFingerprint, hashFingerprint, sha256 } from './fingerprint.js';
import { parseIdempotencyKey } from './key-header.js';
import {
  type EngineConfig,
  type IdempotencyOptions,
  parseIdempotencyOptions,
  type StatusClass,
} from './options.js';
import type { IdempotencyStore, StoredResponse } from './types.js';

export type { IdempotencyClaim } from './claims.js';
export type { IdempotencyOptions, StatusClass } from './options.js';
export { DEFAULT_REPLAY_HEADERS } from './options.js';

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
  /**
   * The handler threw `error`: release the claim so the client may retry. Never rejects; the
   * `idempotency.released` event carries `error`.
   */
  abandon(claim: IdempotencyClaim, error?: unknown): Promise<void>;
  /** The capture limit adapters pass to `captureResponse`. */
  readonly maxResponseBytes: number;
  readonly store: IdempotencyStore;
}

/** Build the engine. Invalid options throw `KeelOptionError` here, not on the first request. */
export function createIdempotency<Raw = unknown>(
  options: IdempotencyOptions<Raw>,
): Idempotency<Raw> {
  return new HttpIdempotency(parseIdempotencyOptions(validatorFor('idempotency'), options));
}

/**
 * The engine over its parsed options. `begin`, `finish` and `abandon` are own properties (arrow
 * functions), as they were on the object this class replaces, so they work unbound too.
 */
class HttpIdempotency<Raw> implements Idempotency<Raw> {
  readonly maxResponseBytes: number;
  readonly store: IdempotencyStore;
  readonly #config: EngineConfig<Raw>;
  readonly #keeper: ClaimKeeper;

  constructor(config: EngineConfig<Raw>) {
    this.#config = config;
    this.#keeper = new ClaimKeeper(config.claims);
    this.maxResponseBytes = config.maxResponseBytes;
    this.store = config.claims.store;
  }

  readonly begin = async (req: KeelRequest<Raw>): Promise<IdempotencyDecision> => {
    const { methods, headerName, required, keyRules, scope, customFingerprint } = this.#config;
    if (!methods.includes(req.method.toUpperCase())) return { kind: 'pass' };
    const header = headerValue(req.headers, headerName);
    if (header === undefined) {
      if (!required) return { kind: 'pass' };
      return this.#rejected('key-missing', new IdempotencyKeyMissingError(headerName));
    }
    const parsed = parseIdempotencyKey(header, keyRules);
    if (!parsed.ok)
      return this.#rejected('key-invalid', new IdempotencyKeyInvalidError(parsed.reason));
    let owner = '';
    if (scope) {
      let value = scope(req);
      // A synchronous scope costs no extra turn of the microtask queue.
      if (typeof value === 'object' && value !== null) value = await value;
      owner = ownerOf(value);
    }
    // 132 bits of SHA-256, like core's hashKeyPart: safe inside a hash tag, reveals nothing.
    const record = sha256(JSON.stringify([owner, parsed.key])).slice(0, 22);
    let fingerprint: string;
    try {
      fingerprint = customFingerprint
        ? hashFingerprint(await customFingerprint(req))
        : this.#defaultFingerprint(req);
    } catch (error) {
      return this.#fingerprintRefused(error);
    }
    let outcome: ClaimOutcome;
    try {
      outcome = await this.#keeper.claim(record, fingerprint);
    } catch (error) {
      return this.#storeFailed(error);
    }
    return decide(outcome);
  };

  readonly finish = async (claim: IdempotencyClaim, captured: CaptureResult): Promise<void> => {
    const keeper = this.#keeper;
    if (captured.kind === 'aborted') {
      // The handler may still be running (Express reports a client disconnect early), so the
      // claim is neither completed nor released: it lapses when its lease ends.
      keeper.abort(claim);
      return;
    }
    const status = captured.kind === 'complete' ? captured.response.status : captured.status;
    if (!this.#config.storeClasses.has(statusClass(status))) {
      await keeper.release(claim, { reason: 'status', status });
      return;
    }
    await keeper.complete(
      claim,
      captured.kind === 'complete'
        ? {
            stored: true,
            response: {
              status,
              headers: pickHeaders(captured.response.headers, this.#config.replayHeaders),
              body: captured.response.body,
            },
          }
        : { stored: false, status },
    );
  };

  readonly abandon = async (claim: IdempotencyClaim, error?: unknown): Promise<void> => {
    await this.#keeper.release(claim, { reason: 'error', error });
  };

  /** The default fingerprint (custom ones are awaited in `begin`). */
  #defaultFingerprint(req: KeelRequest<Raw>): string {
    const { warnings, fingerprintHeaders, maxBodyDepth } = this.#config;
    if (!req.bodyParsed && req.rawBody === undefined && hasBody(req)) {
      warnings.warn(
        'idempotencyWithoutBody',
        'idempotency() saw a request with a body but no parsed body, so its fingerprint leaves the body out and two requests that differ only in their body would share a response. Register the body parser (express.json(), @koa/bodyparser…) before idempotency()',
      );
    }
    return defaultFingerprint(req, fingerprintHeaders, maxBodyDepth);
  }

  /** A request refused before any store call: an event, then the problem response. */
  #rejected(
    reason: 'key-missing' | 'key-invalid',
    error: { status: number } & Error,
  ): IdempotencyDecision {
    this.#config.claims.events.emit('idempotency.rejected', { reason });
    return reject(reason, error);
  }

  /** A body the fingerprint refuses is the client's fault: 400, nothing stored. */
  #fingerprintRefused(error: unknown): IdempotencyDecision {
    if (!(error instanceof IdempotencyBodyTooDeepError)) throw error;
    this.#config.claims.events.emit('idempotency.rejected', { reason: 'body-too-deep' });
    return reject('body-too-deep', error, {}, { maxDepth: error.maxDepth });
  }

  /** Fail closed: the handler never runs without a claim. */
  #storeFailed(error: unknown): IdempotencyDecision {
    if (!isStoreFailure(error)) throw error;
    this.#config.claims.events.emit(
      'idempotency.rejected',
      { reason: 'store-unavailable' },
      { error },
    );
    return {
      kind: 'respond',
      reason: 'store-unavailable',
      response: problemResponse(problemFromError(error), { 'retry-after': '1' }),
    };
  }
}

/** The scope's value as the record's owner: a non-empty string, else a coded error. */
function ownerOf(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new IdempotencyScopeError(value === '' ? 'an empty string' : String(value));
  }
  return value;
}

/** What a claim's outcome means for the request. */
function decide(outcome: ClaimOutcome): IdempotencyDecision {
  switch (outcome.kind) {
    case 'execute':
      return { kind: 'execute', claim: outcome.claim };
    case 'replay':
      return { kind: 'respond', reason: 'replayed', response: replay(outcome.response) };
    case 'in-flight': {
      const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
      return reject('in-flight', new IdempotencyRequestInFlightError(seconds), {
        'retry-after': String(seconds),
      });
    }
    case 'mismatch':
      return reject('mismatch', new IdempotencyKeyReusedError());
    case 'not-stored':
      return reject(
        'not-stored',
        new IdempotencyResponseNotStoredError(outcome.status),
        {},
        { originalStatus: outcome.status },
      );
  }
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
