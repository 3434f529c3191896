/**
 * Bounded load for the failover scenarios, and the ledger that checks afterwards what Keel had
 * acknowledged: every 2xx login must still be logged in, every 2xx order must replay (its
 * handler never runs again), a cached profile is only ever its own user's, and no lock was
 * held by two callers at once, with fencing tokens rising from one holder to the next.
 */
import { randomUUID } from 'node:crypto';
import type { Lock, LockManager } from '@keel/lock';
import request from 'supertest';
import type { FailoverApp } from './apps.js';

/** Longest any request may take: it must be answered, never hang on a failover. */
export const ANSWER_WITHIN_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Login {
  app: FailoverApp;
  cookie: string;
  user: string;
}

interface Order {
  app: FailoverApp;
  key: string;
  /** The body sent: a retry must send the same one (another is a 422). */
  item: string;
}

/** What the load saw while it ran. */
export interface Ledger {
  logins: Login[];
  orders: Order[];
  /** Answers by status (all routes). */
  statuses: Map<number, number>;
  /** Cached profiles that named another user than the requester. */
  foreignProfiles: number;
  slowestMs: number;
}

/**
 * `workers` loops per app, each sending one request at a time (login, order, profile in turn,
 * a pause between), until `stop()`.
 */
export function startHttpLoad(apps: FailoverApp[], workers = 2) {
  const ledger: Ledger = {
    logins: [],
    orders: [],
    statuses: new Map(),
    foreignProfiles: 0,
    slowestMs: 0,
  };
  let running = true;
  const timed = async (send: () => request.Test) => {
    const started = performance.now();
    const res = await send().timeout(ANSWER_WITHIN_MS);
    ledger.slowestMs = Math.max(ledger.slowestMs, performance.now() - started);
    ledger.statuses.set(res.status, (ledger.statuses.get(res.status) ?? 0) + 1);
    return res;
  };
  const worker = async (app: FailoverApp, n: number) => {
    for (let i = 0; running; i++) {
      const user = `u${n}-${i}`;
      const step = i % 3;
      if (step === 0) {
        const res = await timed(() => request(app.url).post('/login').send({ user }));
        const cookie = cookieOf(res.headers['set-cookie'], app.cookieName);
        if (res.status === 200 && cookie) ledger.logins.push({ app, cookie, user });
      } else if (step === 1) {
        const key = `"${randomUUID()}"`; // a structured-field string, as the draft has it
        const res = await timed(() =>
          request(app.url).post('/orders').set('idempotency-key', key).send({ item: user }),
        );
        if (res.status === 201) ledger.orders.push({ app, key, item: user });
      } else {
        const owner = `p${i % 5}`;
        const res = await timed(() =>
          request(app.url).get('/profile').set('authorization', `Bearer ${owner}`),
        );
        if (res.status === 200 && res.body.user !== owner) ledger.foreignProfiles++;
      }
      await sleep(5);
    }
  };
  const loops = apps.flatMap((app) =>
    Array.from({ length: workers }, (_, n) => worker(app, n + apps.indexOf(app) * workers)),
  );
  return {
    async stop(): Promise<Ledger> {
      running = false;
      await Promise.all(loops);
      return ledger;
    },
  };
}

function cookieOf(setCookie: unknown, name: string): string | undefined {
  const lines = Array.isArray(setCookie) ? (setCookie as string[]) : [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  if (!line) return undefined;
  // koa-session signs its cookie: send the signature cookie along.
  return lines
    .filter((l) => l.startsWith(name))
    .map((l) => l.split(';')[0])
    .join('; ');
}

/** What the ledger's acknowledged writes look like after the failover. */
export interface Verdict {
  logins: number;
  /** Acknowledged logins whose session is gone. */
  lostLogins: number;
  orders: number;
  /** Acknowledged orders whose retry replayed the stored response. */
  replayed: number;
  /** Acknowledged orders whose retry found the claim still in flight (409): not run again. */
  inFlight: number;
  /** Acknowledged orders whose handler ran again. */
  reran: number;
}

/** Ask again after every acknowledged write; a 503 (fence, breaker) is retried a few times. */
export async function verify(ledger: Ledger): Promise<Verdict> {
  const verdict: Verdict = {
    logins: ledger.logins.length,
    lostLogins: 0,
    orders: ledger.orders.length,
    replayed: 0,
    inFlight: 0,
    reran: 0,
  };
  await inBatches(ledger.logins, async ({ app, cookie, user }) => {
    const res = await patiently(() => request(app.url).get('/me').set('cookie', cookie));
    if (res.body.user !== user) verdict.lostLogins++;
  });
  await inBatches(ledger.orders, async ({ app, key, item }) => {
    const res = await patiently(() =>
      request(app.url).post('/orders').set('idempotency-key', key).send({ item }),
    );
    if ((app.runs.get(key) ?? 0) > 1) verdict.reran++;
    else if (res.status === 409) verdict.inFlight++;
    else if (res.headers['idempotent-replayed'] === 'true') verdict.replayed++;
    else
      throw new Error(`retry of order ${key} answered ${res.status} ${JSON.stringify(res.body)}`);
  });
  return verdict;
}

async function patiently(send: () => request.Test): Promise<request.Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await send().timeout(ANSWER_WITHIN_MS);
    if (res.status !== 503 || attempt === 20) return res;
    await sleep(100);
  }
}

async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>, size = 8): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** One grant as its holder saw it: held from `acquiredAt` until `endedAt` (monotonic ms). */
export interface Grant {
  resource: string;
  token: number;
  acquiredAt: number;
  endedAt: number;
}

/**
 * `workers` loops taking one of `resources` at random, holding it 20 ms, releasing it. A
 * holder's time ends when it starts to release or when its validity runs out, whichever is
 * first.
 */
export function startLockLoad(lock: LockManager, resources: string[], workers = 4) {
  const grants: Grant[] = [];
  let failures = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const resource = resources[Math.floor(Math.random() * resources.length)]!;
      let held: Lock;
      try {
        held = await lock.acquire(resource, { ttlMs: 2_000 });
      } catch {
        failures++;
        await sleep(20);
        continue;
      }
      const acquiredAt = performance.now();
      await sleep(20);
      const endedAt = Math.min(performance.now(), held.validUntil);
      grants.push({ resource, token: held.fencingToken, acquiredAt, endedAt });
      await held.release().catch(() => {});
    }
  };
  const loops = Array.from({ length: workers }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { grants, failures };
    },
  };
}

/** Pairs of grants of one resource whose holders held it at the same time. */
export function doubleGrants(grants: Grant[]): [Grant, Grant][] {
  const overlaps: [Grant, Grant][] = [];
  for (const resource of new Set(grants.map((g) => g.resource))) {
    const mine = grants.filter((g) => g.resource === resource);
    mine.sort((a, b) => a.acquiredAt - b.acquiredAt);
    for (let i = 1; i < mine.length; i++) {
      if (mine[i]!.acquiredAt < mine[i - 1]!.endedAt) overlaps.push([mine[i - 1]!, mine[i]!]);
    }
  }
  return overlaps;
}

/** Grants whose fencing token is not above every token issued for that resource before it. */
export function tokensOutOfOrder(grants: Grant[]): Grant[] {
  const late: Grant[] = [];
  const highest = new Map<string, number>();
  for (const grant of [...grants].sort((a, b) => a.acquiredAt - b.acquiredAt)) {
    const before = highest.get(grant.resource) ?? 0;
    if (grant.token <= before) late.push(grant);
    highest.set(grant.resource, Math.max(before, grant.token));
  }
  return late;
}

export function summary(name: string, verdict: Verdict, ledger: Ledger, grants: Grant[]): string {
  const statuses = [...ledger.statuses].map(([s, n]) => `${s}×${n}`).join(' ');
  return (
    `${name}: ${verdict.logins} logins (${verdict.lostLogins} lost), ${verdict.orders} orders ` +
    `(${verdict.replayed} replayed, ${verdict.inFlight} in flight, ${verdict.reran} re-ran), ` +
    `${grants.length} lock grants (${doubleGrants(grants).length} double, ` +
    `${tokensOutOfOrder(grants).length} tokens out of order); answers ${statuses}; ` +
    `slowest ${Math.round(ledger.slowestMs)} ms`
  );
}
