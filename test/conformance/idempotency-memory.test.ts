import { createMemoryIdempotencyStore } from '@keel/idempotency';
import { describeIdempotencyConformance } from './idempotency.js';

describeIdempotencyConformance(
  'memory',
  (clock) => ({ store: createMemoryIdempotencyStore({ clock }) }),
  { clockDrivesExpiry: true },
);
