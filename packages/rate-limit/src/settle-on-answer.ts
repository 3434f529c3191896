/**
 * The adapters' part of `skipSuccessfulRequests`/`skipFailedRequests`: report the final status
 * to a decision once Node has answered — 'finish' when the response went out, 'close' first
 * when the client went away (status 0). One copy for Express and Koa (both hand over Node's
 * `ServerResponse`; Koa's only after its own error handling has set the status).
 */
import type { RateLimitDecision } from './decision.js';

/** What of Node's `ServerResponse` this needs. */
export interface AnsweredResponse {
  readonly writableFinished: boolean;
  readonly statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
  off(event: 'finish' | 'close', listener: () => void): unknown;
}

/** Call `decision.settle(status)` once `res` has been answered, when the decision needs it. */
export function settleOnAnswer(decision: RateLimitDecision, res: AnsweredResponse): void {
  if (!decision.needsSettle) return;
  const answered = () => {
    res.off('finish', answered);
    res.off('close', answered);
    void decision.settle(res.writableFinished ? res.statusCode : 0);
  };
  res.once('finish', answered);
  res.once('close', answered);
}
