/** Command-line flags (and their environment fallbacks) of `pnpm bench`. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Requests per variant and round (autocannon `amount`): every round measures the same work. */
  requests: number;
  /** Requests per variant in the discarded warm-up before the first round (0 = none). */
  warmup: number;
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
  /** Pin servers to one core, runner + private Redis to another (when taskset and 2 cores). */
  pin: boolean;
}

/**
 * Defaults: a full run (30 rows) stays under 5 minutes on a busy 2-core machine. The warm-up is
 * long because a server's CPU per request keeps falling for its first few thousand requests
 * (JIT tiers, heap sizing); a short one leaves that in round 1.
 */
export const DEFAULTS = { requests: 1000, warmup: 5000, rounds: 5 } as const;
/** The last requests of a Redis row's warm-up, watched with MONITOR for rt/req; never fewer. */
export const MIN_REDIS_SAMPLE = 200;

export const USAGE = `Usage: pnpm bench [options]

  --requests <n>      requests per variant and round          (BENCH_REQUESTS, default ${DEFAULTS.requests})
  --warmup <n>        discarded warm-up requests per variant  (BENCH_WARMUP, default ${DEFAULTS.warmup};
                      0 = none, but a Redis row still runs its last ${MIN_REDIS_SAMPLE}, the
                      MONITOR sample behind rt/req)
  --rounds <n>        rounds, variants interleaved, order     (BENCH_ROUNDS, default ${DEFAULTS.rounds})
                      rotated each round
  --connections <n>   autocannon connections                  (BENCH_CONNECTIONS, default 50)
  --pipelining <n>    autocannon pipelining                   (BENCH_PIPELINING, default 1)
  --only <pattern>    run rows whose name contains it, or matches /regex/; comma-separated or
                      repeated; their baselines run too        (BENCH_ONLY)
  --baseline <name>   compare every row with this row          (BENCH_BASELINE)
  --no-save           print the table only, do not write bench/results/
  --no-pin            do not pin processes to cores            (BENCH_PIN=0)
                      (default: with taskset and >= 2 cores, servers on core 0, the runner and
                      the private redis-server on core 1)
  -h, --help

Redis: BENCH_REDIS_URL or REDIS_URL; when neither is set a private redis-server is started
for the run (only if a selected row needs Redis) and stopped at the end.`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  if (argv.some((arg) => arg.startsWith('--duration')) || env.BENCH_DURATION) {
    throw new Error(
      '--duration (BENCH_DURATION) is gone: rounds now run a fixed number of requests, --requests <n>',
    );
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      requests: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      pipelining: { type: 'string' },
      only: { type: 'string', multiple: true },
      baseline: { type: 'string' },
      'no-save': { type: 'boolean' },
      'no-pin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const only = (values.only ?? (env.BENCH_ONLY ? [env.BENCH_ONLY] : []))
    .flatMap((pattern) => pattern.split(','))
    .map((pattern) => pattern.trim())
    .filter(Boolean);
  const opts: BenchOptions = {
    requests: positiveInt('requests', values.requests ?? env.BENCH_REQUESTS, DEFAULTS.requests),
    warmup: positiveInt('warmup', values.warmup ?? env.BENCH_WARMUP, DEFAULTS.warmup, true),
    rounds: positiveInt('rounds', values.rounds ?? env.BENCH_ROUNDS, DEFAULTS.rounds),
    connections: positiveInt('connections', values.connections ?? env.BENCH_CONNECTIONS, 50),
    pipelining: positiveInt('pipelining', values.pipelining ?? env.BENCH_PIPELINING, 1),
    only,
    baseline: values.baseline ?? env.BENCH_BASELINE ?? undefined,
    redisUrl: env.BENCH_REDIS_URL || env.REDIS_URL || undefined,
    save: !values['no-save'],
    pin: !values['no-pin'] && env.BENCH_PIN !== '0',
  };
  // autocannon gives each connection its share of the requests and refuses an empty share.
  for (const [name, amount] of [
    ['requests', opts.requests],
    ['warmup', opts.warmup],
  ] as const) {
    if (amount > 0 && amount < opts.connections) {
      throw new Error(`--${name} ${amount} is below --connections ${opts.connections}`);
    }
  }
  return opts;
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

function positiveInt(
  name: string,
  raw: string | undefined,
  fallback: number,
  zeroOk = false,
): number {
  const value = positive(name, raw, fallback, zeroOk);
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
