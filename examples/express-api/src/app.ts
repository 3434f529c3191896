/**
 * The orders/payments API on Express 5. `createApp()` builds the app without listening, so tests
 * drive it with supertest; `server.ts` starts it.
 *
 * Where Keel's features will plug in is marked `// later:` — each feature issue replaces its
 * marker with the real middleware from `@keel/express`.
 */
import { type ProblemDetails, problemResponse, type ResponseHeaders } from '@keel/core';
import {
  bearerToken,
  checkHealth,
  checkPassword,
  type ExampleDeps,
  parseLogin,
  parseNewOrder,
  parsePriceChange,
  problemForError,
  problems,
  type Role,
  WWW_AUTHENTICATE,
} from '@keel/example-shared';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

/** What the app is built from (see @keel/example-shared). */
export type AppDeps = ExampleDeps;

/** What `requireAuth` leaves in `res.locals.user`. */
export interface AuthUser {
  username: string;
  role: Role;
}

// later: `sendProblem` may come from @keel/express, so app errors and Keel's share one writer.
function sendProblem(res: Response, details: ProblemDetails, headers?: ResponseHeaders): void {
  const response = problemResponse(details, headers);
  res.status(response.status).set(response.headers).end(response.body);
}

function currentUser(res: Response): AuthUser {
  return res.locals.user as AuthUser;
}

/** The `:id` route parameter (typed loosely by @types/express once middleware precedes). */
function idParam(req: Request): string {
  const id = req.params.id;
  return typeof id === 'string' ? id : '';
}

export function createApp(deps: AppDeps): Express {
  const { data, tokens } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  // later: app.use(rateLimit({ ... })) from @keel/express — per client, Redis store in Redis mode.

  /** Bearer-token authentication; the sessions feature will replace it with a session store. */
  async function requireAuth(req: Request, res: Response, next: NextFunction): Promise<void> {
    const token = bearerToken(req.get('authorization'));
    const username = token === undefined ? undefined : tokens.verify(token);
    const user = username === undefined ? undefined : await data.findUser(username);
    if (!user) {
      const detail = token === undefined ? undefined : 'The bearer token is invalid or expired.';
      sendProblem(res, problems.unauthorized(detail), { 'www-authenticate': WWW_AUTHENTICATE });
      return;
    }
    res.locals.user = { username: user.username, role: user.role } satisfies AuthUser;
    next();
  }

  function requireRole(role: Role) {
    return (_req: Request, res: Response, next: NextFunction): void => {
      if (currentUser(res).role === role) next();
      else sendProblem(res, problems.forbidden(`Only ${role} users may do this.`));
    };
  }

  app.get('/health', async (_req, res) => {
    const result = await checkHealth(deps.redis);
    if (result.ok) res.json(result.health);
    else sendProblem(res, result.problem);
  });

  app.post('/login', async (req, res) => {
    const parsed = parseLogin(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const user = await checkPassword(data, parsed.value.username, parsed.value.password);
    if (!user) {
      return sendProblem(res, problems.invalidCredentials(), {
        'www-authenticate': WWW_AUTHENTICATE,
      });
    }
    const { token, expiresAt } = tokens.sign(user.username);
    res.json({
      token,
      tokenType: 'Bearer',
      expiresAt,
      user: { username: user.username, role: user.role },
    });
  });

  app.get('/me', requireAuth, (_req, res) => {
    res.json(currentUser(res));
  });

  // later: responseCache({ ttlMs: 30_000, tags: ['catalogue'] }) from @keel/express.
  app.get('/catalogue', async (_req, res) => {
    res.json({ products: await data.listProducts() });
  });

  // later: invalidate the 'catalogue' cache tag after the change.
  app.patch('/catalogue/:id', requireAuth, requireRole('admin'), async (req, res) => {
    const parsed = parsePriceChange(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const product = await data.updatePrice(idParam(req), parsed.value.priceCents);
    if (!product) return sendProblem(res, problems.notFound(`No product ${idParam(req)}.`));
    res.json(product);
  });

  // later: idempotency({ required: true }) from @keel/express, so a retried POST creates one order.
  app.post('/orders', requireAuth, async (req, res) => {
    const parsed = parseNewOrder(req.body);
    if (!parsed.ok) return sendProblem(res, problems.validation(parsed.errors));
    const result = await data.createOrder(currentUser(res).username, parsed.value.items);
    if (result.kind === 'unknown-product') {
      const pointer = `/items/${parsed.value.items.findIndex((i) => i.productId === result.productId)}/productId`;
      return sendProblem(
        res,
        problems.validation([{ pointer, detail: `No product ${result.productId}.` }]),
      );
    }
    res.status(201).location(`/orders/${result.order.id}`).json(result.order);
  });

  app.get('/orders', requireAuth, async (_req, res) => {
    res.json({ orders: await data.listOrders(currentUser(res).username) });
  });

  app.get('/orders/:id', requireAuth, async (req, res) => {
    const order = await data.getOrder(currentUser(res).username, idParam(req));
    if (!order) return sendProblem(res, problems.notFound(`No order ${idParam(req)}.`));
    res.json(order);
  });

  // later: idempotency() here too — a payment retried after a timeout must not charge twice.
  app.post('/orders/:id/pay', requireAuth, async (req, res) => {
    const result = await data.payOrder(currentUser(res).username, idParam(req));
    if (result.kind === 'not-found') {
      return sendProblem(res, problems.notFound(`No order ${idParam(req)}.`));
    }
    if (result.kind === 'already-paid') {
      return sendProblem(res, problems.orderAlreadyPaid(result.order.id));
    }
    res.json({ order: result.order, payment: result.payment });
  });

  app.use((req, res) => {
    sendProblem(res, problems.notFound(`No route for ${req.method} ${req.path}.`));
  });

  // Express recognises an error handler by its four parameters.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const details = problemForError(error);
    if (details.status >= 500) console.error(error);
    sendProblem(res, details);
  });

  return app;
}
