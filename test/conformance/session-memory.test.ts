import { createMemorySessionStorage, type SessionStorage } from '@keel/session';
import { describeSessionConformance } from './session.js';

describeSessionConformance(
  'memory',
  (clock) => {
    let storage: SessionStorage | undefined;
    const get = () => {
      storage ??= createMemorySessionStorage({ clock });
      return storage;
    };
    return {
      storage: get,
      writeRaw: async (id, payload) => {
        await get().save(id, {
          payload,
          ttlMs: 60_000,
          absoluteTtlMs: 0,
          touch: false,
          userHash: '',
          createdAtMs: 0,
        });
      },
      age: async (_id, ms) => {
        clock.advance(ms);
      },
      cleanup: async () => {},
    };
  },
  { clock: true },
);
