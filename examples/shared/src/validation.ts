/**
 * Request-body validation, returning field errors instead of throwing (they become one 400 problem
 * with an `errors` member). Framework-agnostic: the Express and Koa examples keep identical
 * copies.
 */
import type { OrderLine } from './data.js';
import type { FieldError } from './problems.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const MAX_ORDER_LINES = 20;
const MAX_QUANTITY = 99;
const MAX_PRICE_CENTS = 10_000_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function intIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

export function parseLogin(body: unknown): Parsed<{ username: string; password: string }> {
  const b = isObject(body) ? body : {};
  const errors: FieldError[] = [];
  if (!shortString(b.username, 64)) {
    errors.push({ pointer: '/username', detail: 'username must be a string of 1–64 characters' });
  }
  if (!shortString(b.password, 256)) {
    errors.push({ pointer: '/password', detail: 'password must be a string of 1–256 characters' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { username: b.username as string, password: b.password as string } };
}

export function parseNewOrder(body: unknown): Parsed<{ items: OrderLine[] }> {
  const items = isObject(body) ? body.items : undefined;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ORDER_LINES) {
    return {
      ok: false,
      errors: [
        { pointer: '/items', detail: `items must be an array of 1–${MAX_ORDER_LINES} lines` },
      ],
    };
  }
  const errors: FieldError[] = [];
  const lines: OrderLine[] = [];
  items.forEach((item: unknown, i) => {
    const line = isObject(item) ? item : {};
    if (!shortString(line.productId, 64)) {
      errors.push({ pointer: `/items/${i}/productId`, detail: 'productId must be a product id' });
    }
    if (!intIn(line.quantity, 1, MAX_QUANTITY)) {
      errors.push({
        pointer: `/items/${i}/quantity`,
        detail: `quantity must be an integer from 1 to ${MAX_QUANTITY}`,
      });
    }
    lines.push({ productId: line.productId as string, quantity: line.quantity as number });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { items: lines } };
}

export function parsePriceChange(body: unknown): Parsed<{ priceCents: number }> {
  const priceCents = isObject(body) ? body.priceCents : undefined;
  if (!intIn(priceCents, 1, MAX_PRICE_CENTS)) {
    return {
      ok: false,
      errors: [
        {
          pointer: '/priceCents',
          detail: `priceCents must be an integer from 1 to ${MAX_PRICE_CENTS}`,
        },
      ],
    };
  }
  return { ok: true, value: { priceCents } };
}
