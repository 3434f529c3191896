/**
 * Redis's clock as seen from this process: the offset between the server's `TIME` and the
 * local monotonic clock, measured with one `TIME` round trip when a client is first used,
 * again in the background after each reconnect, and refreshed once a minute. Scripts use it to
 * learn when their caller gives up, on the server's own clock (see `scripts.ts`).
 */
import { type AnyRedisClient, type KeelRedisClient, keelClient } from './seam.js';

/** Local time, ms since the epoch, that never jumps with NTP (unlike `Date.now()`). */
export const localNow = (): number => performance.timeOrigin + performance.now();

const RESYNC_MS = 60_000;

export class ServerClock {
  #offsetMs = 0;
  /** Half the round trip of the sample the offset came from: its worst-case error. */
  #errorMs = 0;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
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
   * `undefined` when the offset is known (a stale one is refreshed in the background);
   * otherwise the promise of a first measurement, which the caller must await.
   */
  ready(): Promise<void> | undefined {
    if (this.#syncedAt === Number.NEGATIVE_INFINITY) return this.sync();
    if (localNow() - this.#syncedAt > RESYNC_MS) this.sync().catch(() => {});
    return undefined;
  }

  /** Measure the offset now (concurrent callers share one `TIME`). */
  sync(): Promise<void> {
    this.#pending ??= this.#measure().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /**
   * The server time, ms, at or before which a local instant certainly falls: the offset's
   * error is subtracted, so a deadline mapped this way is never later than the local one.
   */
  toServerMs(localMs: number): number {
    return Math.floor(localMs + this.#offsetMs - this.#errorMs);
  }

  async #measure(): Promise<void> {
    const sent = localNow();
    const [seconds, micros] = await this.#client.time();
    const received = localNow();
    const serverMs = Number(seconds) * 1000 + Number(micros) / 1000;
    this.#errorMs = (received - sent) / 2;
    this.#offsetMs = serverMs - (sent + this.#errorMs);
    this.#syncedAt = received;
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
