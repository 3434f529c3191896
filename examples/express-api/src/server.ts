/** `pnpm start`: the Express example on `PORT` (default 3000); Redis mode when `REDIS_URL` is set. */
import { serveExample } from '@keel/example-shared';
import { createApp } from './app.js';

serveExample({ framework: 'Express', defaultPort: 3000, listener: (deps) => createApp(deps) });
