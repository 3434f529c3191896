/**
 * The Lua field merge (session-merge-3.lua) and its TypeScript transliteration agree byte for
 * byte on random sessions and random changes, on a real Redis.
 */
import { createRedisSessionStorage, type SessionStorage } from '@keel/session';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../../../../test/support/index.js';
import { mergeJsonText, toFields } from '../../src/fields.js';

const client = createTestRedis();
const prefix = testPrefix();
const storage: SessionStorage = createRedisSessionStorage({ client, prefix, indexPrefix: prefix });
afterAll(async () => {
  await cleanupPrefix(client, prefix);
  await cleanupPrefix(client, `{${prefix}`);
});

describe('session-merge script', () => {
  it('merges like mergeJsonText on random objects and changes', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
        async (base, change, drop) => {
          const id = `m${n++}`;
          const text = JSON.stringify(base);
          await client.set(`${prefix}${id}`, text, 'PX', 60_000);
          const changed = [...toFields(change)].map(
            ([name, t]) => [JSON.stringify(name), t] as const,
          );
          const removed = drop
            .filter((name) => !(name in change))
            .map((name) => JSON.stringify(name));
          const result = await storage.merge(id, {
            changed,
            removed,
            ttlMs: 60_000,
            absoluteTtlMs: 0,
            touch: false,
            userHash: '',
          });
          expect(result.status).toBe('ok');
          expect(await client.get(`${prefix}${id}`)).toBe(mergeJsonText(text, changed, removed));
        },
      ),
      { numRuns: 100 },
    );
  });
});
