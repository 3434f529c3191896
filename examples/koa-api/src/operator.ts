/**
 * The operator page for the Koa example, admins only: `GET /admin/keel` (the page),
 * `/admin/keel/operator.js` (its script) and `/admin/keel/stats` (the numbers it polls), all
 * read from the app's Prometheus registry (see @keel/example-shared's operator.ts).
 */
import {
  type ExampleTelemetry,
  OPERATOR_PAGE_HEADERS,
  OPERATOR_PATHS,
  OPERATOR_SCRIPT,
  operatorSnapshot,
  renderOperatorPage,
} from '@keel/example-shared';
import Router from '@koa/router';
import type { Middleware } from 'koa';

/** `adminOnly` runs first on each route (authentication, then the admin role). */
export function operatorRoutes(telemetry: ExampleTelemetry, adminOnly: Middleware[]): Router {
  const router = new Router();
  router.get(OPERATOR_PATHS.page, ...adminOnly, (ctx) => {
    ctx.set(OPERATOR_PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = renderOperatorPage();
  });
  router.get(OPERATOR_PATHS.script, ...adminOnly, (ctx) => {
    ctx.set(OPERATOR_PAGE_HEADERS);
    ctx.type = 'js';
    ctx.body = OPERATOR_SCRIPT;
  });
  router.get(OPERATOR_PATHS.stats, ...adminOnly, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = await operatorSnapshot(telemetry.registry);
  });
  return router;
}
