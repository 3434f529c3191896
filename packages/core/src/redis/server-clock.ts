/**
 * Redis's clock as seen from this process: the offset between the server's `TIME` and the
 * local monotonic clock. Scripts use it to learn when their caller gives up, on the server's
 * own clock (see `scripts.ts`).
 *
 * A sample is one `TIME` round trip, and its error is half that round trip. A sample taken
 * while the event loop was busy (startup, a loaded host) can be off by tens of milliseconds,
 * more than a rate limit's whole deadline: mapped conservatively, every call would look
 * abandoned. So a measurement keeps the best of a few samples (the very first call waits for
 * one, and a coarse one is refined behind it), a coarse offset is measured again a second
 * later instead of a minute later, and a script refused while its caller was still in time
 * (the server's clock stepped, or the sample was wrong) triggers a new measurement.
 */
import { type AnyRedisClient, type KeelRedisClient, keelClient } from './seam.js';

/** Local time, ms since the epoch, that never jumps with NTP (unlike `Date.now()`). */
export const localNow = (): number => performance.timeOrigin + performance.now();

/** A good sample is refreshed this often: clocks kept by NTP drift far less in a minute. */
const RESYNC_MS = 60_000;
/** A sample with a larger error (a round trip over 4 ms on one host) is coarse. */
const PRECISE_ERROR_MS = 2;
/** How soon a coarse offset is measured again. */
const COARSE_RESYNC_MS = 1_000;
/** Samples per measurement at most: it stops at the first precise one. */
const SAMPLES = 3;
/** The least time between two measurements a refused script asked for. */
const DISTRUST_INTERVAL_MS = 1_000;
/** Worst drift between two NTP-kept clocks, ms per ms (100 ppm): an old sample's error grows by it. */
const DRIFT = 1e-4;

interface Sample {
  offsetMs: number;
  /** Half the round trip: how far the true offset may be from `offsetMs`. */
  errorMs: number;
  /** Local time the reply arrived. */
  at: number;
}

export class ServerClock {
  #offsetMs = 0;
  #errorMs = 0;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #nextSyncAt = Number.NEGATIVE_INFINITY;
  #distrustedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  /** The measurement under way must replace the offset, even with a worse sample. */
  #replace = false;
  readonly #client: KeelRedisClient;

  constructor(native: AnyRedisClient) {
    const client = keelClient(native);
    this.#client = client;
    // A reconnect may reach another server (failover, restart): measure again, at once and in
    // the background. Calls meanwhile use the last offset (servers kept in time by NTP differ
    // by milliseconds), so no request after a reconnect pays an extra round trip for it.
    client.on('ready', () => {
      if (this.#syncedAt !== Number.NEGATIVE_INFINITY) this.sync().catch(() => {});
    });
  }

  /**
   * `undefined` when the offset is known (a stale or coarse one is refreshed in the
   * background); otherwise the promise of a first measurement, which the caller must await.
   */
  ready(): Promise<void> | undefined {
    if (this.#syncedAt === Number.NEGATIVE_INFINITY) {
      // The first call waits for one sample only; a coarse one is refined in the background.
      return this.#measure(true, 1).then(() => {
        if (this.#errorMs > PRECISE_ERROR_MS) this.#measure(false, SAMPLES).catch(() => {});
      });
    }
    if (localNow() >= this.#nextSyncAt) this.#measure(false, SAMPLES).catch(() => {});
    return undefined;
  }

  /** Measure the offset now and take it, replacing the last one (concurrent callers share it). */
  sync(): Promise<void> {
    return this.#measure(true, SAMPLES);
  }

  /**
   * A script was refused as started too late while its caller's deadline had not passed
   * locally: the offset is wrong. Measure again in the background, at most once a second.
   */
  distrust(): void {
    const now = localNow();
    if (now - this.#distrustedAt < DISTRUST_INTERVAL_MS) return;
    this.#distrustedAt = now;
    this.sync().catch(() => {});
  }

  /**
   * The last whole server millisecond (ms since the epoch) that certainly ends before the
   * local instant: the offset's error is subtracted, so a deadline mapped this way is never
   * later than the local one, even compared with a script's clock read rounded down to the ms.
   */
  toServerMs(localMs: number): number {
    return Math.floor(localMs + this.#offsetMs - this.#errorMs) - 1;
  }

  /** The best of up to `samples` samples; taken when `replace`, or when it beats the last. */
  #measure(replace: boolean, samples: number): Promise<void> {
    this.#replace ||= replace;
    this.#pending ??= (async () => {
      let best = await this.#sample();
      for (let i = 1; i < samples && best.errorMs > PRECISE_ERROR_MS; i++) {
        const next = await this.#sample();
        if (next.errorMs < best.errorMs) best = next;
      }
      const agedErrorMs = this.#errorMs + (best.at - this.#syncedAt) * DRIFT;
      if (this.#replace || best.errorMs <= agedErrorMs) {
        this.#replace = false;
        this.#offsetMs = best.offsetMs;
        this.#errorMs = best.errorMs;
        this.#syncedAt = best.at;
      }
      const coarse = this.#errorMs > PRECISE_ERROR_MS;
      this.#nextSyncAt = best.at + (coarse ? COARSE_RESYNC_MS : RESYNC_MS);
    })().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #sample(): Promise<Sample> {
    const sent = localNow();
    const [seconds, micros] = await this.#client.time();
    const at = localNow();
    const serverMs = Number(seconds) * 1000 + Number(micros) / 1000;
    const errorMs = (at - sent) / 2;
    return { offsetMs: serverMs - (sent + errorMs), errorMs, at };
  }
}

const clocks = new WeakMap<KeelRedisClient, ServerClock>();

/** The one server clock of a client, shared by every store on it. */
export function serverClockOf(native: AnyRedisClient): ServerClock {
  const client = keelClient(native);
  let clock = clocks.get(client);
  if (!clock) {
    clock = new ServerClock(client);
    clocks.set(client, clock);
  }
  return clock;
}
