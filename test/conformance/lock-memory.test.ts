import { createLock, createMemoryLockStore } from '@keel/lock';
import { describeLockConformance } from './lock.js';

describeLockConformance('memory', () => {
  const store = createMemoryLockStore();
  let counter = 0;
  return {
    create: (options) => createLock({ ...options, memory: store }),
    readCounter: async () => counter,
    writeCounter: async (value) => {
      await new Promise((resolve) => setImmediate(resolve));
      counter = value;
    },
    cleanup: async () => {},
  };
});
