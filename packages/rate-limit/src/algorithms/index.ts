/** The algorithm units by name and by their number in the Lua scripts. */
import { fixedWindow } from './fixed-window.js';
import { gcra } from './gcra.js';
import { slidingLog } from './sliding-log.js';
import { slidingWindow } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';
import type { AlgorithmName, AlgorithmUnit } from './types.js';

export const ALGORITHMS = {
  'fixed-window': fixedWindow,
  'sliding-log': slidingLog,
  'sliding-window': slidingWindow,
  'token-bucket': tokenBucket,
  gcra,
} as const satisfies Record<AlgorithmName, AlgorithmUnit<unknown>>;

export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

/**
 * The unit for a name, typed loosely for stores that keep every algorithm's state in one map
 * (a unit's methods take their state bivariantly, so each unit is an `AlgorithmUnit<unknown>`).
 */
export function algorithmUnit(name: AlgorithmName): AlgorithmUnit<unknown> {
  return ALGORITHMS[name];
}
