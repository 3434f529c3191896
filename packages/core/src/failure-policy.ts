/**
 * What a feature does when its store cannot answer in time. Each feature documents which of
 * these it offers and its default:
 * - `open`: proceed as if the store had allowed the request (availability first),
 * - `closed`: refuse with 503 problem+json (safety first),
 * - `fallback`: decide with an in-process substitute (e.g. a memory rate limiter).
 */
export type FailurePolicy = 'open' | 'closed' | 'fallback';

export const FAILURE_POLICIES: readonly FailurePolicy[] = ['open', 'closed', 'fallback'];
