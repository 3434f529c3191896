/** `pnpm start:koa`: the Koa example on `PORT` (default 3001); Redis mode when `REDIS_URL` is set. */
import { serveExample } from '@keel/example-shared';
import { createApp } from './app.js';

serveExample({
  framework: 'Koa',
  defaultPort: 3001,
  listener: (deps) => createApp(deps).callback(),
});
