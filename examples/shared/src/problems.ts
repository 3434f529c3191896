/**
 * The API's errors, all RFC 9457 `application/problem+json` built with `@keel/core`'s `problem()`,
 * so the example's own errors and the ones Keel's middleware will produce look the same to a
 * client. Framework-agnostic: the Express and Koa examples keep identical copies.
 */
import { isKeelError, type ProblemDetails, problem, problemFromError } from '@keel/core';

/** The example's problem types; Keel's own use `urn:keel:problem:…`. */
const TYPE_BASE = 'urn:keel-example:problem:';

function appProblem(
  status: number,
  code: string,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
): ProblemDetails {
  const slug = code.toLowerCase().replaceAll('_', '-');
  return problem({
    type: `${TYPE_BASE}${slug}`,
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    code,
    ...extensions,
  });
}

/** Sent with every 401 (RFC 6750 §3). */
export const WWW_AUTHENTICATE = 'Bearer realm="keel-example"';

/** One invalid member of a request body, as a JSON pointer (RFC 6901) into that body. */
export interface FieldError {
  pointer: string;
  detail: string;
}

export const problems = {
  unauthorized: (detail = 'Send a bearer token from POST /login.') =>
    appProblem(401, 'UNAUTHORIZED', 'Authentication required', detail),
  invalidCredentials: () =>
    appProblem(
      401,
      'INVALID_CREDENTIALS',
      'Invalid credentials',
      'Unknown user or wrong password.',
    ),
  forbidden: (detail: string) => appProblem(403, 'FORBIDDEN', 'Forbidden', detail),
  notFound: (detail: string) => appProblem(404, 'NOT_FOUND', 'Not found', detail),
  validation: (errors: readonly FieldError[]) =>
    appProblem(400, 'VALIDATION_FAILED', 'Invalid request body', errors[0]?.detail, { errors }),
  orderAlreadyPaid: (orderId: string) =>
    appProblem(
      409,
      'ORDER_ALREADY_PAID',
      'Order already paid',
      `Order ${orderId} is already paid.`,
    ),
  redisUnavailable: (detail: string) =>
    appProblem(503, 'REDIS_UNAVAILABLE', 'Redis unavailable', detail, { mode: 'redis' }),
};

/**
 * The problem for an error that reached the error handler. Keel errors keep their status and
 * code; client errors from body parsing (malformed JSON, body too large) keep their 4xx status;
 * anything else is a 500 that does not leak internals.
 */
export function problemForError(error: unknown): ProblemDetails {
  if (isKeelError(error)) return problemFromError(error);
  const status = httpStatusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : 'Bad request';
    return appProblem(
      status,
      status === 413 ? 'BODY_TOO_LARGE' : 'BAD_REQUEST',
      'Bad request',
      message,
    );
  }
  return problemFromError(error);
}

/** `status` of an http-errors style error that is safe to show (`expose !== false`). */
function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = candidate.status ?? candidate.statusCode;
  return typeof status === 'number' && candidate.expose !== false ? status : undefined;
}
