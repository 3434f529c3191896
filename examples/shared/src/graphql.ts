/**
 * A GraphQL-style endpoint, limited by key: `POST /graphql` with `{ "operationName": "MyOrders",
 * "variables": {} }` — persisted operations, as APIs that accept only known queries do — or a
 * batch of them (an array). Each operation costs points; a request spends the sum from one
 * token bucket per user with a single `limiter.consume(user, { cost })`, all or nothing. The
 * cost is only known once the body is parsed, so this uses the rate limiter's key API rather
 * than the `rateLimit()` middleware (GitHub's GraphQL API limits by points the same way).
 * Framework-neutral: it returns a `KeelResponse` that the Express and Koa apps send as it is.
 */
import {
  type KeelEvents,
  type KeelResponse,
  type ProblemDetails,
  problem,
  problemResponse,
} from '@keel/core';
import {
  codes,
  createRateLimiter,
  type KeyDecision,
  QUOTA_EXCEEDED_TYPE,
  type RateLimiter,
  type RateLimitStore,
} from '@keel/rate-limit';
import type { Data } from './data.js';
import { problems } from './problems.js';

type Resolver = (data: Data, user: string, variables: Record<string, unknown>) => Promise<unknown>;

/** The persisted operations: their cost in points, and what they answer. */
export const GRAPHQL_OPERATIONS: Record<string, { cost: number; resolve: Resolver }> = {
  Me: { cost: 1, resolve: async (data, user) => ({ me: await data.findUser(user).then(public_) }) },
  Catalogue: { cost: 1, resolve: async (data) => ({ catalogue: await data.listProducts() }) },
  MyOrders: { cost: 2, resolve: async (data, user) => ({ orders: await data.listOrders(user) }) },
  Order: {
    cost: 1,
    resolve: async (data, user, { id }) => ({
      order: (await data.getOrder(user, String(id))) ?? null,
    }),
  },
};

export interface GraphqlOptions {
  data: Data;
  /** Where the points are counted (the app's rate-limit store). @default in memory */
  store?: RateLimitStore | undefined;
  events?: KeelEvents | undefined;
  /** Points a user gets per minute. @default 60 */
  pointsPerMinute?: number;
  /** Points a user may spend at once. @default 20 */
  burst?: number;
}

export interface GraphqlEndpoint {
  readonly limiter: RateLimiter;
  /** Run the operations in `body` for `user`, or refuse them all. */
  execute(user: string, body: unknown): Promise<KeelResponse>;
}

export function createGraphqlEndpoint(options: GraphqlOptions): GraphqlEndpoint {
  const { data, pointsPerMinute = 60, burst = 20 } = options;
  const limiter = createRateLimiter({
    name: 'graphql',
    limit: pointsPerMinute,
    windowMs: 60_000,
    algorithm: 'token-bucket',
    burst,
    ...(options.store ? { store: options.store } : {}),
    ...(options.events ? { events: options.events } : {}),
  });

  return {
    limiter,
    async execute(user, body) {
      const batch = Array.isArray(body);
      const parsed = parseOperations(batch ? body : [body]);
      if (!parsed.ok) return problemResponse(parsed.problem);
      const cost = parsed.operations.reduce((sum, op) => sum + op.cost, 0);
      const decision = await limiter.consume(user, { cost });
      if (!decision.allowed) return refusal(decision);
      const rateLimit = {
        cost,
        remaining: Math.min(...decision.policies.map((p) => p.remaining)),
      };
      const answers = [];
      for (const op of parsed.operations) {
        const result = await op.resolve(data, user, op.variables);
        answers.push({ data: result, extensions: { rateLimit } });
      }
      return json(200, batch ? answers : answers[0]);
    },
  };
}

type Parsed =
  | {
      ok: true;
      operations: { cost: number; resolve: Resolver; variables: Record<string, unknown> }[];
    }
  | { ok: false; problem: ProblemDetails };

function parseOperations(list: readonly unknown[]): Parsed {
  if (list.length === 0 || list.length > 10) {
    return invalid('', 'Send one operation, or a batch (an array) of 1 to 10.');
  }
  const operations = [];
  for (const [i, item] of list.entries()) {
    const at = list.length === 1 ? '' : `/${i}`;
    const { operationName, variables = {} } = (item ?? {}) as Record<string, unknown>;
    const operation =
      typeof operationName === 'string' && Object.hasOwn(GRAPHQL_OPERATIONS, operationName)
        ? GRAPHQL_OPERATIONS[operationName]
        : undefined;
    if (!operation) {
      const known = Object.keys(GRAPHQL_OPERATIONS).join(', ');
      return invalid(`${at}/operationName`, `operationName must be one of ${known}.`);
    }
    if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) {
      return invalid(`${at}/variables`, 'variables must be an object.');
    }
    operations.push({ ...operation, variables: variables as Record<string, unknown> });
  }
  return { ok: true, operations };
}

function invalid(pointer: string, detail: string): Parsed {
  return { ok: false, problem: problems.validation([{ pointer, detail }]) };
}

/** 429 with Retry-After while the points are spent; 413 for a batch costing more than the burst. */
function refusal(decision: KeyDecision): KeelResponse {
  if (decision.reason === 'store-unavailable') {
    return problemResponse(problems.redisUnavailable('The rate limiter cannot answer now.'));
  }
  if (decision.reason === 'cost-exceeds-limit') {
    return problemResponse(
      problem({
        type: 'urn:keel-example:problem:query-too-costly',
        title: 'Query costs more points than can ever be spent at once',
        status: 413,
        code: 'QUERY_TOO_COSTLY',
        detail: `This request costs ${decision.cost} points, more than a user may spend at once; send a smaller batch.`,
        cost: decision.cost,
      }),
    );
  }
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return problemResponse(
    problem({
      type: QUOTA_EXCEEDED_TYPE,
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      code: codes.RATE_LIMITED,
      detail: `Your GraphQL points are spent (this request costs ${decision.cost}); retry in ${seconds} s.`,
      'violated-policies': decision.violated,
    }),
    { 'retry-after': String(seconds) },
  );
}

function json(status: number, value: unknown): KeelResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(value)),
  };
}

function public_(user: { username: string; role: string } | undefined) {
  return user ? { username: user.username, role: user.role } : null;
}
