import { describe, expect, it } from 'vitest';
import {
  codes,
  isKeelError,
  isStoreFailure,
  type KeelError,
  KeelOptionError,
  problem,
  problemFromError,
  problemResponse,
  StoreTimeoutError,
  StoreUnavailableError,
  UnexpectedScriptReplyError,
} from '../../src/index.js';

describe('errors', () => {
  it('every class carries its registry code, a status and a problem type', () => {
    const cases: [KeelError, string, number][] = [
      [new KeelOptionError('x.y', 'bad'), codes.INVALID_OPTION, 500],
      [new StoreTimeoutError('get', 50), codes.STORE_TIMEOUT, 503],
      [new StoreUnavailableError('get', 'down'), codes.STORE_UNAVAILABLE, 503],
      [new UnexpectedScriptReplyError('s', [9]), codes.UNEXPECTED_SCRIPT_REPLY, 500],
    ];
    for (const [error, code, status] of cases) {
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(error.type).toBe(
        `urn:keel:problem:${code.replace('KEEL_ERR_', '').toLowerCase().replaceAll('_', '-')}`,
      );
      expect(error.name).toBe(error.constructor.name);
      expect(Object.values(codes)).toContain(error.code);
    }
  });

  it('codes are frozen and unique', () => {
    expect(Object.isFrozen(codes)).toBe(true);
    const values = Object.values(codes);
    expect(new Set(values).size).toBe(values.length);
  });

  it('isKeelError recognises a copy from another module instance by shape', () => {
    const foreign = Object.assign(new Error('x'), {
      name: 'StoreTimeoutError',
      code: 'KEEL_ERR_STORE_TIMEOUT',
      type: 'urn:keel:problem:store-timeout',
    });
    expect(isKeelError(foreign)).toBe(true);
    expect(isKeelError(new Error('plain'))).toBe(false);
    expect(isKeelError({ code: 'KEEL_ERR_X', type: 't' })).toBe(false);
    expect(isStoreFailure(foreign)).toBe(true);
    expect(isStoreFailure(new KeelOptionError('a', 'b'))).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('ECONNREFUSED');
    expect(new StoreUnavailableError('get', 'down', cause).cause).toBe(cause);
  });
});

describe('problem+json', () => {
  it('turns a Keel error into RFC 9457 members plus code', () => {
    const details = problemFromError(new StoreTimeoutError('rate-limit.consume', 25));
    expect(details).toEqual({
      type: 'urn:keel:problem:store-timeout',
      title: 'Storage backend timed out',
      status: 503,
      detail: 'Store call "rate-limit.consume" did not answer within 25 ms',
      code: 'KEEL_ERR_STORE_TIMEOUT',
    });
  });

  it('hides the message of foreign errors', () => {
    const details = problemFromError(new Error('password=hunter2 in SQL'));
    expect(details.status).toBe(500);
    expect(JSON.stringify(details)).not.toContain('hunter2');
  });

  it('serialises with the problem media type and extra headers', () => {
    const response = problemResponse(
      problem({ title: 'Too many', status: 429, code: 'KEEL_ERR_RATE_LIMITED', limit: 10 }),
      { 'retry-after': '3' },
    );
    expect(response.status).toBe(429);
    expect(response.headers).toEqual({
      'retry-after': '3',
      'content-type': 'application/problem+json',
    });
    expect(JSON.parse(Buffer.from(response.body).toString())).toEqual({
      title: 'Too many',
      status: 429,
      code: 'KEEL_ERR_RATE_LIMITED',
      limit: 10,
      type: 'urn:keel:problem:rate-limited',
    });
  });
});
