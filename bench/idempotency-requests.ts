/**
 * Request shapes of the idempotency rows (used by bench/variants.ts): a POST /orders with a small
 * JSON body, and either a fresh Idempotency-Key per request (every request is a first execution)
 * or one fixed key (every request after the first is a replay). Keys start with `keel-bench`, so
 * libraries that use the raw header as their Redis key stay inside the bench's namespace.
 */
import { randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';

export const ORDER_REQUEST = {
  method: 'POST',
  path: '/orders',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ items: [{ productId: 'p-espresso', quantity: 2 }] }),
} as const;

/** A fresh key on every request; `quoted` sends it as the draft's structured-field string. */
export function freshKeys(quoted: boolean): Partial<autocannon.Options> {
  return {
    requests: [
      {
        setupRequest: (req) => {
          const key = `keel-bench:${randomUUID()}`;
          return {
            ...req,
            headers: { ...req.headers, 'idempotency-key': quoted ? `"${key}"` : key },
          };
        },
      },
    ],
  };
}

/** One fixed key for every request of the run (`"…"` quoted). */
export function fixedKey(): Record<string, string> {
  return {
    ...ORDER_REQUEST.headers,
    'idempotency-key': `"keel-bench:replay-${randomUUID()}"`,
  };
}
