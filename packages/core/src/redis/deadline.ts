/**
 * A per-call deadline that does not depend on ioredis's retry or timeout settings (which the
 * application may have tuned for other purposes). The command itself is not cancelled — Redis
 * has no cancellation — but the caller stops waiting and applies its failure policy.
 */
import { StoreTimeoutError } from '../errors.js';

export function withDeadline<T>(
  promise: Promise<T>,
  deadlineMs: number,
  operation: string,
): Promise<T> {
  if (!Number.isFinite(deadlineMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreTimeoutError(operation, deadlineMs)),
      deadlineMs,
    );
    // A pending deadline must not keep the process alive on shutdown.
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
