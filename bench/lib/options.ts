/** Command-line flags (and their environment fallbacks) of `pnpm bench`. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Measured run per variant and round, seconds. */
  durationS: number;
  /** Discarded warm-up run per variant before the first round, seconds (0 = none). */
  warmupS: number;
  rounds: number;
  connections: number;
  pipelining: number;
  /** Row-name filters; a row runs when any matches (substring, or `/regex/`). */
  only: string[];
  /** Compare every row with this one instead of each row's own baseline. */
  baseline: string | undefined;
  /** Existing Redis to use; when unset the runner starts a private one. */
  redisUrl: string | undefined;
  /** Write `bench/results/<timestamp>.md` as well as stdout. */
  save: boolean;
}

export const USAGE = `Usage: pnpm bench [options]

  --duration <s>      measured seconds per variant and round  (BENCH_DURATION, default 5)
  --warmup <s>        discarded warm-up seconds per variant   (BENCH_WARMUP, default 2)
  --rounds <n>        rounds, variants interleaved            (BENCH_ROUNDS, default 3)
  --connections <n>   autocannon connections                  (BENCH_CONNECTIONS, default 50)
  --pipelining <n>    autocannon pipelining                   (BENCH_PIPELINING, default 1)
  --only <pattern>    run rows whose name contains it, or matches /regex/; comma-separated or
                      repeated; their baselines run too        (BENCH_ONLY)
  --baseline <name>   compare every row with this row          (BENCH_BASELINE)
  --no-save           print the table only, do not write bench/results/
  -h, --help

Redis: BENCH_REDIS_URL or REDIS_URL; when neither is set a private redis-server is started
for the run (only if a selected row needs Redis) and stopped at the end.`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      pipelining: { type: 'string' },
      only: { type: 'string', multiple: true },
      baseline: { type: 'string' },
      'no-save': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const only = (values.only ?? (env.BENCH_ONLY ? [env.BENCH_ONLY] : []))
    .flatMap((pattern) => pattern.split(','))
    .map((pattern) => pattern.trim())
    .filter(Boolean);
  return {
    durationS: positive('duration', values.duration ?? env.BENCH_DURATION, 5),
    warmupS: positive('warmup', values.warmup ?? env.BENCH_WARMUP, 2, true),
    rounds: positiveInt('rounds', values.rounds ?? env.BENCH_ROUNDS, 3),
    connections: positiveInt('connections', values.connections ?? env.BENCH_CONNECTIONS, 50),
    pipelining: positiveInt('pipelining', values.pipelining ?? env.BENCH_PIPELINING, 1),
    only,
    baseline: values.baseline ?? env.BENCH_BASELINE ?? undefined,
    redisUrl: env.BENCH_REDIS_URL || env.REDIS_URL || undefined,
    save: !values['no-save'],
  };
}

function positive(name: string, raw: string | undefined, fallback: number, zeroOk = false): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroOk)) {
    throw new Error(
      `--${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number, got "${raw}"`,
    );
  }
  return value;
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  const value = positive(name, raw, fallback);
  if (!Number.isInteger(value)) throw new Error(`--${name} must be an integer, got "${raw}"`);
  return value;
}

/** True when `name` matches one of the `--only` patterns (or there are none). */
export function matchesOnly(name: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => {
    const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern);
    return regex ? new RegExp(regex[1]!, regex[2]).test(name) : name.includes(pattern);
  });
}
