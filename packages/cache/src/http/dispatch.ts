/**
 * Background revalidation for stale-while-revalidate: the response cache re-sends a copy of the
 * request into the application (Express's `app`, Koa's `app.callback()`), on an in-process
 * socket that goes nowhere. When that request reaches the cache middleware again, the
 * middleware recognises it by a symbol on the request object (a header could be forged by a
 * client) and stores what the handler produces. The response bytes are discarded.
 *
 * Middleware in front of the cache sees this request like any other GET with the same headers
 * (authentication, logging, rate limits): see the README.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** Marks a request as a background revalidation; the value is the refresh's token. */
export const REVALIDATION: unique symbol = Symbol.for('keel.cache.revalidation');

/** A Node request listener: what `http.createServer` takes. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface DispatchInit {
  /** Path and query, e.g. `/catalogue?page=2`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string | undefined;
  token: string;
  /** Abort the request (its response closes unfinished) after this long, ms. */
  timeoutMs: number;
}

/** A duplex that reads nothing and discards what is written: the far end of the fake socket. */
class NullSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;
  constructor(remoteAddress: string | undefined) {
    super();
    this.remoteAddress = remoteAddress;
  }
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/**
 * Send a GET through `listener`; resolves when its response has finished (or was closed),
 * rejects with what the listener threw.
 */
export function dispatchRequest(listener: RequestListener, init: DispatchInit): Promise<void> {
  const socket = new NullSocket(init.remoteAddress);
  // Node's http takes a net.Socket but uses only its stream side and the fields NullSocket has.
  const nodeSocket = socket as unknown as Socket;
  const req = new IncomingMessage(nodeSocket);
  req.method = 'GET';
  req.url = init.url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.headers = { ...init.headers };
  req.rawHeaders = Object.entries(req.headers).flatMap(([name, value]) =>
    value === undefined
      ? []
      : Array.isArray(value)
        ? value.flatMap((v) => [name, v])
        : [name, value],
  );
  Reflect.set(req, REVALIDATION, init.token);
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(nodeSocket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => res.destroy(), init.timeoutMs);
    timer.unref();
    const end = () => {
      clearTimeout(timer);
      res.off('finish', done);
      res.off('close', done);
      socket.destroy();
    };
    const done = () => {
      end();
      resolve();
    };
    res.on('finish', done);
    res.on('close', done);
    try {
      listener(req, res);
    } catch (error) {
      // A listener that throws (a broken app) fails the refresh: the caller reports it.
      end();
      reject(error);
    }
  });
}

/** The refresh token of a request dispatched by {@link dispatchRequest}, if it is one. */
export function revalidationToken(req: unknown): string | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const token: unknown = Reflect.get(req, REVALIDATION);
  return typeof token === 'string' ? token : undefined;
}
