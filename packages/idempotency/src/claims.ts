/**
 * The key-level layer of idempotency that the HTTP engine (`begin(req)` / `finish`) and the
 * function API (`run(key, fn)`, `wrap`, `makeIdempotent`) both stand on: claim a record by id
 * and fingerprint with one store call (waiting up to `waitMs` while another owner holds it),
 * renew the claim's lease in the background while the work runs, then complete it with the
 * result or release it — each transition fenced by the claim's owner token, each reported as
 * an `idempotency.*` event. The state machine itself is the store's (see types.ts).
 */
import { randomUUID } from 'node:crypto';
import './events.js';
import { Heartbeat, type HeartbeatSettings } from './heartbeat.js';
import { type IntervalTimer, nodeIntervalTimer } from './interval-timer.js';
import type { AcquireOutcome, AcquireRequest, Completion, StoredResponse } from './types.js';

/** A claim: its owner runs the work, then hands it back to complete or release it. */
export interface IdempotencyClaim {
  /** Opaque record id (a hash of scope and key), as in events. */
  readonly record: string;
}

/** The settings of one claim keeper, already validated by its caller. */
export interface ClaimSettings extends HeartbeatSettings {
  /** How long to wait for an in-flight owner before answering in-flight, ms. */
  readonly waitMs: number;
}

/** What claiming a record found: the claim to run under, or why the work must not run. */
export type ClaimOutcome =
  | { kind: 'execute'; claim: IdempotencyClaim; takenOver: boolean }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'not-stored'; status: number }
  | { kind: 'in-flight'; retryAfterMs: number }
  | { kind: 'mismatch' };

/** Why a claim is released: a response status not stored, or the work's thrown error. */
export type ReleaseReason =
  | { readonly reason: 'status'; readonly status: number }
  | { readonly reason: 'error'; readonly error: unknown };

interface ClaimState {
  /** The keeper that made the claim: another keeper's complete/release ignores it. */
  readonly keeper: object;
  readonly token: string;
  /** Completed, released or aborted: the first of these ends the claim, the others do nothing. */
  ended: boolean;
  /** Undefined when `renewEveryMs` is 0. */
  readonly heartbeat: Heartbeat | undefined;
}

/** A claim as handed out: the record id in view, the owner token out of reach. */
class Claim implements IdempotencyClaim {
  readonly record: string;
  readonly #state: ClaimState;

  constructor(record: string, state: ClaimState) {
    this.record = record;
    this.#state = state;
    Object.freeze(this);
  }

  /** The state of a claim made by `keeper`, or undefined (a foreign or forged claim). */
  static stateOf(claim: IdempotencyClaim, keeper: object): ClaimState | undefined {
    if (!(claim instanceof Claim)) return undefined;
    const state = claim.#state;
    return state.keeper === keeper ? state : undefined;
  }
}

/** Claims, their heartbeats and their ends (complete, release, abort) of one engine or runner. */
export class ClaimKeeper {
  /** `timer` runs the heartbeats: tests pass a manual one to move time instead of sleeping. */
  constructor(
    private readonly settings: ClaimSettings,
    private readonly timer: IntervalTimer = nodeIntervalTimer,
  ) {}

  /**
   * Claim `record` with one store call (more only while waiting, see `waitMs`). Emits the
   * outcome's event. A store failure rejects (a coded, `isStoreFailure` error): the caller
   * fails closed, since the work must never run without a claim.
   */
  async claim(record: string, fingerprint: string): Promise<ClaimOutcome> {
    const { leaseMs, retentionMs, waitMs, events } = this.settings;
    const token = randomUUID();
    const request = { record, token, fingerprint, leaseMs, retentionMs };
    const outcome =
      waitMs === 0 ? await this.settings.store.acquire(request) : await this.wait(request);
    switch (outcome.kind) {
      case 'claimed':
      case 'taken-over': {
        const state: ClaimState = {
          keeper: this,
          token,
          ended: false,
          heartbeat:
            this.settings.renewEveryMs === 0
              ? undefined
              : new Heartbeat(this.settings, this.timer, record, token),
        };
        if (outcome.kind === 'taken-over') {
          events.emit('idempotency.taken-over', { record, expiredMsAgo: outcome.expiredMsAgo });
        } else if (events.active) {
          events.emit('idempotency.claimed', { record });
        }
        return {
          kind: 'execute',
          claim: new Claim(record, state),
          takenOver: outcome.kind === 'taken-over',
        };
      }
      case 'replay':
        if (events.active) {
          events.emit('idempotency.replayed', { record, status: outcome.response.status });
        }
        return outcome;
      case 'in-flight':
        events.emit('idempotency.in-flight', { record, retryAfterMs: outcome.retryAfterMs });
        return outcome;
      case 'mismatch':
        events.emit('idempotency.mismatch', { record });
        return outcome;
      case 'not-stored':
        events.emit('idempotency.not-stored', { record, status: outcome.status });
        return outcome;
    }
  }

  /**
   * Store the work's result for replay (`completion`), ending the claim. Never rejects: a
   * fenced completion (the lease was taken over) and a store failure are events.
   */
  async complete(claim: IdempotencyClaim, completion: Completion): Promise<void> {
    const state = this.end(claim);
    if (!state) return;
    const { store, retentionMs, events } = this.settings;
    const { record } = claim;
    try {
      const outcome = await store.complete(record, state.token, completion, retentionMs);
      if (outcome.ok) {
        if (!events.active) return;
        const status = completion.stored ? completion.response.status : completion.status;
        events.emit('idempotency.completed', { record, status, stored: completion.stored });
      } else {
        events.emit('idempotency.fenced', {
          record,
          operation: 'complete',
          reason: outcome.reason,
        });
      }
    } catch (error) {
      events.emit('idempotency.store-error', { record, operation: 'complete' }, { error });
    }
  }

  /**
   * Give the record up so the work may run again (a failed attempt). Never rejects. The work's
   * error, when it threw, goes out with the `idempotency.released` event.
   */
  async release(claim: IdempotencyClaim, why: ReleaseReason) {
    const state = this.end(claim);
    if (!state) return;
    const { store, events } = this.settings;
    const { record } = claim;
    try {
      const outcome = await store.release(record, state.token);
      if (!events.active) return;
      if (outcome.ok) {
        if (why.reason === 'status') {
          events.emit('idempotency.released', { record, reason: why.reason, status: why.status });
        } else {
          events.emit('idempotency.released', { record, reason: why.reason }, { error: why.error });
        }
      } else {
        events.emit('idempotency.fenced', { record, operation: 'release', reason: outcome.reason });
      }
    } catch (error) {
      events.emit('idempotency.store-error', { record, operation: 'release' }, { error });
    }
  }

  /**
   * Stop renewing and leave the claim to lapse with its lease: the work may still be running
   * (a client that went away mid-request), so neither completing nor releasing is right.
   */
  abort(claim: IdempotencyClaim): void {
    if (this.end(claim)) this.settings.events.emit('idempotency.aborted', { record: claim.record });
  }

  /** Bounded wait-and-replay: poll with backoff until the owner finishes or `waitMs` ends. */
  private async wait(request: AcquireRequest): Promise<AcquireOutcome> {
    const { store, waitMs, events } = this.settings;
    let outcome = await store.acquire(request);
    if (outcome.kind !== 'in-flight') return outcome;
    events.emit('idempotency.waiting', {
      record: request.record,
      retryAfterMs: outcome.retryAfterMs,
    });
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

  /** Mark the claim ended and take its state, once: the first of complete/release/abort wins. */
  private end(claim: IdempotencyClaim): ClaimState | undefined {
    const state = Claim.stateOf(claim, this);
    if (!state || state.ended) return undefined;
    state.ended = true;
    state.heartbeat?.stop();
    return state;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
