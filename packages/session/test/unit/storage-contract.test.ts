/**
 * A storage that breaks the write contract (a whole save answered `missing`, `corrupt` or
 * `conflict`, which only a merge or a compare-and-set may answer) fails the save with a coded
 * error the application can branch on, not an anonymous one.
 */
import { codes, isKeelError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  createMemorySessionStorage,
  SessionRepository,
  type WriteResult,
} from '../../src/index.js';

describe('a storage that breaks the write contract', () => {
  it.each<WriteResult>([
    { status: 'missing' },
    { status: 'corrupt' },
    { status: 'conflict', current: Buffer.from('{}') },
  ])('fails a new session’s save with KEEL_ERR_INTERNAL ($status)', async (answer) => {
    const storage = createMemorySessionStorage();
    storage.save = async () => answer;
    const repository = new SessionRepository({ storage });
    const error: unknown = await repository.save('sid-1', { n: 1 }, { ttlMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKeelError(error) && error.code).toBe(codes.INTERNAL);
  });
});
