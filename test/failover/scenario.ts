/**
 * One failover under load: Express and Koa apps (every HTTP feature) and a lock loop run on one
 * client while the topology fails over; then every acknowledged write is checked. Apps with and
 * without `waitForReplicas` can share one failover, so a crash measures both settings at once.
 */
import type { RedisClient } from '@keel/core';
import { createLock } from '@keel/lock';
import { expect } from 'vitest';
import { cleanupPrefix, type FailoverResult, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';
import {
  ANSWER_WITHIN_MS,
  doubleGrants,
  type Grant,
  type Ledger,
  startHttpLoad,
  startLockLoad,
  summary,
  tokensOutOfOrder,
  type Verdict,
  verify,
} from './load.js';

export interface Outcome {
  verdict: Verdict;
  ledger: Ledger;
  grants: Grant[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Apps and a lock loop on `client`, with `waitForReplicas` (0 = the default, off). */
async function startSetting(client: RedisClient, waitForReplicas: number) {
  const prefix = testPrefix();
  const apps = await Promise.all(
    frameworks.map(([, make]) => make({ client, prefix, waitForReplicas })),
  );
  const lock = createLock({
    client,
    prefix,
    ...(waitForReplicas ? { waitForReplicas } : {}),
    retry: { attempts: 30, delayMs: 50, jitterMs: 50 },
  });
  const http = startHttpLoad(apps);
  const locks = startLockLoad(lock, ['a', 'b', 'c']);
  return {
    async finish(): Promise<Outcome> {
      const ledger = await http.stop();
      const { grants } = await locks.stop();
      const verdict = await verify(ledger);
      await Promise.all(apps.map((app) => app.close()));
      await cleanupPrefix(client, prefix).catch(() => {});
      return { verdict, ledger, grants };
    },
  };
}

/**
 * Runs the load for each setting in `settings` (replicas to wait for; 0 = off), forces the
 * failover half a second in, waits until `moved` says the client follows, lets the load run
 * a little longer on the new master, then checks. Prints one line per setting: the figures.
 */
export async function runFailover(
  name: string,
  client: RedisClient,
  settings: number[],
  failover: () => Promise<FailoverResult>,
  moved: (result: FailoverResult) => Promise<void>,
): Promise<Outcome[]> {
  const running = await Promise.all(settings.map((replicas) => startSetting(client, replicas)));
  await sleep(500);
  const result = await failover();
  await moved(result);
  await sleep(300);
  const outcomes = await Promise.all(running.map((setting) => setting.finish()));
  settings.forEach((replicas, i) => {
    const setting = replicas ? `waitForReplicas: ${replicas}` : 'default settings';
    console.info(
      `${summary(`${name}, ${setting}`, outcomes[i]!.verdict, outcomes[i]!.ledger, outcomes[i]!.grants)}; failover took ${Math.round(result.tookMs)} ms`,
    );
  });
  return outcomes;
}

/** What holds with any setting: answered without a 500, no foreign profile, tokens rising. */
export function expectAlwaysSafe({ ledger, grants }: Outcome): void {
  expect(ledger.slowestMs).toBeLessThan(ANSWER_WITHIN_MS);
  expect(ledger.statuses.get(500) ?? 0).toBe(0);
  expect(ledger.foreignProfiles).toBe(0);
  expect(tokensOutOfOrder(grants)).toEqual([]);
  // Enough traffic on both sides of the failover for the checks to mean something.
  expect(ledger.logins.length).toBeGreaterThan(5);
  expect(ledger.orders.length).toBeGreaterThan(5);
  expect(grants.length).toBeGreaterThan(5);
}

/** What a failover must not lose: no login, no order run twice, no lock held twice. */
export function expectNothingLost({ verdict, grants }: Outcome): void {
  expect(verdict.lostLogins).toBe(0);
  expect(verdict.reran).toBe(0);
  expect(doubleGrants(grants)).toEqual([]);
}
