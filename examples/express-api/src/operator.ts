/**
 * The operator page for the Express example, admins only: `GET /admin/keel` (the page),
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
import express, { type RequestHandler, type Router } from 'express';

/** `adminOnly` runs first on each route (authentication, then the admin role). */
export function operatorRoutes(telemetry: ExampleTelemetry, adminOnly: RequestHandler[]): Router {
  const router = express.Router();
  router.get(OPERATOR_PATHS.page, ...adminOnly, (_req, res) => {
    res.set(OPERATOR_PAGE_HEADERS).type('html').send(renderOperatorPage());
  });
  router.get(OPERATOR_PATHS.script, ...adminOnly, (_req, res) => {
    res.set(OPERATOR_PAGE_HEADERS).type('js').send(OPERATOR_SCRIPT);
  });
  router.get(OPERATOR_PATHS.stats, ...adminOnly, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await operatorSnapshot(telemetry.registry));
  });
  return router;
}
