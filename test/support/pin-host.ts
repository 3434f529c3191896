/**
 * supertest's `request(app)` starts a server on a new port for every request, so every request
 * carries another `Host` (`127.0.0.1:<port>`). The response cache keys on the host, as a shared
 * cache must (a handler that echoes it in links would otherwise let one client poison another's
 * entry), so to it each of those requests is a different URL. `pinHost(app)` rewrites that
 * generated host to one fixed name and leaves any other host (one a test sets) as it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type request from 'supertest';

type App = Parameters<typeof request>[0];
type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

const GENERATED = /^127\.0\.0\.1:\d+$/;

/** `app` (an Express app or a Koa `callback()`) seen under one fixed host. */
export function pinHost(app: App, host = 'app.test'): App {
  if (typeof app !== 'function') throw new TypeError('pinHost: pass a request listener');
  const listener = app as unknown as Listener;
  return ((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host !== undefined && GENERATED.test(req.headers.host)) req.headers.host = host;
    void listener(req, res);
  }) as unknown as App;
}
