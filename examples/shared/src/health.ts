/**
 * `GET /health`: the storage mode and, in Redis mode, a PING under a deadline. A Redis that does
 * not answer in time makes the service report 503, never hang. Framework-agnostic: the Express and
 * Koa examples keep identical copies.
 */
import { type ProblemDetails, withDeadline } from '@keel/core';
import type { Redis } from 'ioredis';
import { problems } from './problems.js';

export type Mode = 'memory' | 'redis';

export interface Health {
  status: 'ok';
  mode: Mode;
  redis?: { ping: string; latencyMs: number };
}

/** How long a health check waits for PING, ms. */
const PING_DEADLINE_MS = 500;

export async function checkHealth(
  redis: Redis | undefined,
): Promise<{ ok: true; health: Health } | { ok: false; problem: ProblemDetails }> {
  if (!redis) return { ok: true, health: { status: 'ok', mode: 'memory' } };
  const started = performance.now();
  try {
    const ping = await withDeadline(redis.ping(), PING_DEADLINE_MS, 'health PING');
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    return { ok: true, health: { status: 'ok', mode: 'redis', redis: { ping, latencyMs } } };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: problems.redisUnavailable(`PING failed: ${reason}`) };
  }
}
