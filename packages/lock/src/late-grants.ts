/**
 * Locks taken after their attempt stopped waiting, per `acquire()` call. All attempts of one
 * call share its owner token, so "release by token" is only right once the call is over
 * without a lock: a late grant from attempt 1 can arrive after attempt 2 was told "already
 * ours" and handed the lock out, and releasing then would free a lock its holder still uses.
 * So a late grant is held back while the call runs, dropped when the call hands out the lock
 * (it is that lock), and released when the call gives up (or at once, if it already has).
 */
import type { LateGrantHandler } from './store.js';

export class LateGrants {
  #outcome: 'pending' | 'held' | 'failed' = 'pending';
  #waiting: { release: () => Promise<void>; done: (result: Promise<void>) => void }[] = [];

  /** The handler to give the stores for this call's attempts. */
  readonly handler: LateGrantHandler = (release) => {
    if (this.#outcome === 'held') return Promise.resolve();
    if (this.#outcome === 'failed') return release();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ release, done: (result) => result.then(resolve, reject) });
    });
  };

  /** The call is over: `held` when it handed out a lock under its token. */
  end(held: boolean): void {
    if (this.#outcome !== 'pending') return;
    this.#outcome = held ? 'held' : 'failed';
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const { release, done } of waiting) done(held ? Promise.resolve() : release());
  }
}
