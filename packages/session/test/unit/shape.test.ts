import { describe, expect, it } from 'vitest';
import { shapeProblem } from '../../src/index.js';

const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;
const express = (cookie: string) => shapeProblem('express-session', parse(`{"cookie":${cookie}}`));

describe('shapeProblem', () => {
  it('passes what express-session writes, and refuses what its Cookie or serializer throw on', () => {
    expect(
      express(
        '{"originalMaxAge":60000,"expires":"2030-01-01T00:00:00.000Z","secure":false,"httpOnly":true,"domain":".example.com","path":"/","sameSite":"Lax","priority":"High","partitioned":true}',
      ),
    ).toBeUndefined();
    expect(express('{"originalMaxAge":null,"expires":null,"sameSite":true}')).toBeUndefined();
    expect(express('[]')).toBe('cookie');
    expect(express('null')).toBe('cookie');
    expect(express('{"__proto__":{"path":"x"}}')).toBe('cookie.__proto__');
    expect(express('{"originalMaxAge":1e999}')).toBe('cookie.originalMaxAge');
    expect(express('{"maxAge":"soon"}')).toBe('cookie.maxAge');
    expect(express('{"expires":5}')).toBe('cookie.expires');
    expect(express('{"_expires":"x"}')).toBe('cookie._expires');
    expect(express('{"domain":"a b"}')).toBe('cookie.domain');
    expect(express('{"sameSite":"sometimes"}')).toBe('cookie.sameSite');
    expect(express('{"priority":7}')).toBe('cookie.priority');
  });

  it('passes what koa-session writes, and refuses fields that replace its machinery', () => {
    const koa = (text: string) => shapeProblem('koa-session', parse(text));
    expect(koa('{"user":"ann","_expire":1893456000000,"_maxAge":86400000}')).toBeUndefined();
    expect(koa('{"user":"ann","_session":true}')).toBeUndefined();
    expect(koa('{"maxAge":"session"}')).toBeUndefined();
    expect(koa('{"__proto__":{"toJSON":1}}')).toBe('__proto__');
    expect(koa('{"save":1}')).toBe('save');
    expect(koa('{"maxAge":"1h"}')).toBe('maxAge');
    expect(koa('{"_maxAge":null}')).toBe('_maxAge');
  });

  it('lets any object through the default shape', () => {
    expect(shapeProblem('object', parse('{"toJSON":1,"cookie":5}'))).toBeUndefined();
  });
});
