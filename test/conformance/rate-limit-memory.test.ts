import { createMemoryStore } from '@keel/rate-limit';
import { describeRateLimitConformance } from './rate-limit.js';

describeRateLimitConformance('memory', (clock) => ({ store: createMemoryStore({ clock }) }));
