/**
 * RFC 9457 problem details. Every HTTP error Keel produces is `application/problem+json` with a
 * stable `type` URI and a Keel `code` member, so clients can branch without parsing prose.
 */
import { codes, isKeelError, type KeelError, PROBLEM_TYPE_BASE, slugOf } from '../errors.js';
import type { KeelResponse, ResponseHeaders } from './response.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  /** URI identifying the problem type. */
  type: string;
  /** Short summary of the problem type; the same for every occurrence. */
  title: string;
  status: number;
  /** Explanation specific to this occurrence. */
  detail?: string;
  instance?: string;
  /** Keel's stable error code. */
  code: string;
  /** Extension members (RFC 9457 §3.2). */
  [extension: string]: unknown;
}

/** Build a problem object. `type` defaults to Keel's URN for the code. */
export function problem(
  init: { title: string; status: number; code: string; type?: string } & Record<string, unknown>,
): ProblemDetails {
  return { ...init, type: init.type ?? `${PROBLEM_TYPE_BASE}${slugOf(init.code)}` };
}

/**
 * The problem for any error reaching a client. Keel errors keep their status, code and message;
 * anything else is a generic 500 whose detail does not leak internals.
 */
export function problemFromError(error: unknown): ProblemDetails {
  if (isKeelError(error)) {
    const keel = error as KeelError;
    return {
      type: keel.type,
      title: keel.title,
      status: keel.status,
      detail: keel.message,
      code: keel.code,
    };
  }
  return {
    type: `${PROBLEM_TYPE_BASE}internal`,
    title: 'Internal error',
    status: 500,
    code: codes.INTERNAL,
  };
}

/** Serialise a problem into a response, with optional extra headers (e.g. `retry-after`). */
export function problemResponse(
  details: ProblemDetails,
  headers: ResponseHeaders = {},
): KeelResponse {
  const body = Buffer.from(JSON.stringify(details));
  return {
    status: details.status,
    headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
    body,
  };
}
