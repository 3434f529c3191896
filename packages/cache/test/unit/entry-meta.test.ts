import { describe, expect, it } from 'vitest';
import { decodeMeta, type EntryMeta, encodeMeta, parseMeta } from '../../src/entry.js';

describe('entry metadata codec', () => {
  const http: EntryMeta = {
    kind: 'http',
    ttlMs: 60_000,
    swrMs: 5_000,
    sieMs: 0,
    tags: { users: '3' },
    status: 200,
    headers: { etag: '"x"' },
  };
  const data: EntryMeta = { kind: 'data', ttlMs: 1_000, swrMs: 0, sieMs: 2_000, codec: 'bytes' };

  it('stores the short wire names entries have always been written with', () => {
    expect(JSON.parse(encodeMeta(http))).toEqual({
      k: 'h',
      ttl: 60_000,
      swr: 5_000,
      sie: 0,
      tg: { users: '3' },
      s: 200,
      h: { etag: '"x"' },
    });
    expect(JSON.parse(encodeMeta(data))).toEqual({
      k: 'd',
      ttl: 1_000,
      swr: 0,
      sie: 2_000,
      c: 'b',
    });
  });

  it('decodes what it encodes, into the full names', () => {
    expect(parseMeta(encodeMeta(http))).toEqual(http);
    expect(decodeMeta(JSON.parse(encodeMeta(data)))).toEqual(data);
    expect(parseMeta('{"k":"d","ttl":5,"swr":0,"sie":0,"c":"j"}')?.codec).toBe('json');
  });

  it('reads foreign or corrupt metadata as not ours', () => {
    expect(parseMeta('not json')).toBeUndefined();
    expect(parseMeta('null')).toBeUndefined();
    expect(decodeMeta({ k: 'h' })).toBeUndefined();
  });
});
