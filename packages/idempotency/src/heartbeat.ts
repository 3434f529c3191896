/**
 * The heartbeat of a claim: while its work runs, renew the lease every `renewEveryMs` so a long
 * handler keeps its record exclusive. It stops when the claim ends, or when a renewal finds
 * the claim lost (`idempotency.fenced`); a failed renewal is reported and the next beat retries.
 */
import type { KeelEvents } from '@keel/core';
import './events.js';
import type { IntervalId, IntervalTimer } from './interval-timer.js';
import type { IdempotencyStore } from './types.js';

/** What a heartbeat needs of its keeper's settings. */
export interface HeartbeatSettings {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  /** Heartbeat period, ms; 0 disables it. */
  readonly renewEveryMs: number;
  readonly retentionMs: number;
  readonly events: KeelEvents;
}

export class Heartbeat {
  readonly #settings: HeartbeatSettings;
  readonly #timer: IntervalTimer;
  readonly #record: string;
  readonly #token: string;
  /** Undefined once stopped. */
  #interval: IntervalId | undefined;
  /** A renewal is in progress: a slow store never gets two at once for one claim. */
  #renewing = false;

  /** Start beating on `timer`; `settings.renewEveryMs` must be above 0. */
  constructor(settings: HeartbeatSettings, timer: IntervalTimer, record: string, token: string) {
    this.#settings = settings;
    this.#timer = timer;
    this.#record = record;
    this.#token = token;
    // One callback shared by every heartbeat: no closure per claim.
    this.#interval = timer.start(Heartbeat.#beat, settings.renewEveryMs, this);
  }

  /** Stop beating; a renewal already sent still reports its outcome. */
  stop(): void {
    if (this.#interval === undefined) return;
    this.#timer.stop(this.#interval);
    this.#interval = undefined;
  }

  static #beat(heartbeat: Heartbeat): void {
    heartbeat.#renew();
  }

  #renew(): void {
    if (this.#renewing || this.#interval === undefined) return;
    const { store, leaseMs, retentionMs, events } = this.#settings;
    const record = this.#record;
    this.#renewing = true;
    store.renew(record, this.#token, leaseMs, retentionMs).then(
      (outcome) => {
        this.#renewing = false;
        if (outcome.ok) return;
        this.stop();
        events.emit('idempotency.fenced', { record, operation: 'renew', reason: outcome.reason });
      },
      (error: unknown) => {
        this.#renewing = false;
        events.emit('idempotency.store-error', { record, operation: 'renew' }, { error });
      },
    );
  }
}
