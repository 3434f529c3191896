// The pieces every Express middleware of Keel shares: request translation, response capture.
export { toKeelRequest } from './request.js';
export type { CaptureOptions } from './response.js';
export { captureResponse, sendResponse, setHeaders } from './response.js';

// Idempotency-Key handling (@keel/idempotency).
export type { ExpressIdempotencyOptions } from './idempotency.js';
export { idempotency } from './idempotency.js';

// Rate limiting (@keel/rate-limit).
export type { RateLimitDecision, RateLimiter, RateLimiterOptions } from './rate-limit.js';
export { rateLimit } from './rate-limit.js';

// Response caching (@keel/cache).
export type { ExpressResponseCacheOptions } from './cache.js';
export { responseCache } from './cache.js';

// An express-session store: a connect-redis drop-in on @keel/session.
export type { SessionStoreOptions } from './session-store.js';
export { SessionStore } from './session-store.js';
// Save the session before answering, so a login fails (503) when its session was not stored.
export { saveSession } from './save-session.js';
