/**
 * The replay path of Keel's `idempotency()` on Redis: the same server as
 * `express-idempotency-keel-redis`, driven with one fixed key, so every request after the first
 * is answered from the stored record (one EVALSHA) without running the handler.
 */
import './express-idempotency-keel-redis.js';
