// koa-ratelimit 6 ships no types (and @types/koa-ratelimit targets 5 and Koa 2): the part the
// bench uses, from its README.
declare module 'koa-ratelimit' {
  import type { Context, Middleware } from 'koa';

  interface Options {
    driver: 'redis' | 'memory';
    db: unknown;
    duration?: number;
    max?: number;
    id?: (ctx: Context) => string | false;
    namespace?: string;
  }
  export default function ratelimit(options: Options): Middleware;
}
