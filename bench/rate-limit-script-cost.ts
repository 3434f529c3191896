/**
 * `pnpm exec tsx bench/rate-limit-script-cost.ts`: the Redis cost of one rate-limit decision,
 * per algorithm, beside the peers' scripts — measured on Redis alone, so neither Node nor HTTP
 * blurs it. At scale one Redis serves many app instances: this figure caps a shared limiter.
 *
 * Each row's script is loaded into a private `redis-server` and driven by `redis-benchmark`
 * (a C client: its own cost stays off the server) with the arguments a real decision sends, on
 * one hot key (one client hammering its limit, the HTTP bench's shape). Rows run interleaved,
 * order rotated each round; per row:
 * - `redis µs`: `used_cpu_user + used_cpu_sys` per call (includes reading the command and writing
 *   the reply, as in production), median over rounds, with the paired ratio to the `vs` row;
 * - `script µs`: `INFO commandstats` `usec_per_call` of EVALSHA (the script alone);
 * - `cmds`: commands per call, the EVALSHA included.
 * With `taskset` and ≥ 2 cores, Redis is pinned to core 1 and redis-benchmark to core 0.
 *
 * ```sh
 * pnpm exec tsx bench/rate-limit-script-cost.ts                 # 7 rounds × 50,000 calls per row
 * pnpm exec tsx bench/rate-limit-script-cost.ts --calls 20000 --rounds 3
 * pnpm exec tsx bench/rate-limit-script-cost.ts --instructions  # instructions: Redis under callgrind
 * ```
 *
 * `--instructions` counts instead of timing: Redis runs under valgrind's callgrind and each row
 * reports the CPU instructions Redis executed per call (one client, 2,000 calls, one round:
 * the count moves about 2 % with the machine's load, not 20–70 % as CPU time does).
 */
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';
import { GUARD_LUA } from '@keel/core';
import { Redis } from 'ioredis';
import { checkLimits } from '../packages/rate-limit/src/scripts/generated.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { hasValgrind, startCallgrindRedis } from './lib/callgrind.js';
import { pinPlan, pinProcess } from './lib/pin.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '7' },
    connections: { type: 'string', default: '20' },
    instructions: { type: 'boolean', default: false },
  },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);

const KEEL = GUARD_LUA + checkLimits.lua;
/** rate-limit-redis 6's increment script (express-rate-limit's Redis store), verbatim in shape. */
const RATE_LIMIT_REDIS = `local totalHits = redis.call("INCR", KEYS[1])
local timeToExpire = redis.call("PTTL", KEYS[1])
if timeToExpire <= 0 or ARGV[1] == "1" then
  redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[2]))
  timeToExpire = tonumber(ARGV[2])
end
return { totalHits, timeToExpire }`;
/** The ceiling: the cheapest script a counter can be (INCR, PEXPIRE on the first hit). */
const RAW = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

const FAR_FUTURE_MS = '99999999999999';
const LIMIT = '100000000';
const WINDOW = '60000';
/** One policy's arguments: algorithm code, limit, window, burst. */
const policy = (code: number, burst = LIMIT) => [String(code), LIMIT, WINDOW, burst];

interface Row {
  name: string;
  lua: string;
  keys: string[];
  args: string[];
  vs: string;
}

const keel = (name: string, policies: string[][]): Row => ({
  name,
  lua: KEEL,
  keys: policies.map((_, i) => `{bench}:${name}:${i}`),
  args: ['', '1', ...policies.flat(), FAR_FUTURE_MS],
  vs: 'rate-limit-redis',
});

const ROWS: Row[] = [
  { name: 'raw INCR+PEXPIRE', lua: RAW, keys: ['raw'], args: [WINDOW], vs: 'raw INCR+PEXPIRE' },
  {
    name: 'rate-limit-redis',
    lua: RATE_LIMIT_REDIS,
    keys: ['rlr'],
    args: ['0', WINDOW],
    vs: 'rate-limit-redis',
  },
  keel('keel fixed-window', [policy(1)]),
  keel('keel sliding-window', [policy(3)]),
  keel('keel sliding-log', [policy(2)]),
  keel('keel token-bucket', [policy(4)]),
  keel('keel gcra', [policy(5)]),
  keel('keel sliding-window ×3', [policy(3), policy(3), policy(3)]),
];

// redis-benchmark on the bench's server core, Redis on its load core (bench/lib/pin.ts).
const plan = pinPlan();
const pinned = typeof plan === 'object' ? plan : undefined;

function benchmark(
  port: number,
  sha: string,
  row: Row,
  n = calls,
  connections = values.connections,
): Promise<void> {
  const argv = [
    '-p',
    String(port),
    '-n',
    String(n),
    '-c',
    connections,
    '-q',
    'EVALSHA',
    sha,
    String(row.keys.length),
    ...row.keys,
    ...row.args,
  ];
  const [cmd, args] = pinned
    ? ['taskset', ['-c', String(pinned.server), 'redis-benchmark', ...argv]]
    : ['redis-benchmark', argv];
  return new Promise((resolve, reject) => {
    execFile(cmd, args as string[], (error) => (error ? reject(error) : resolve()));
  });
}

function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
}

function commandStats(info: string): { evalsha: number; usecPerCall: number; total: number } {
  let total = 0;
  let evalsha = 0;
  let usecPerCall = Number.NaN;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/gm)) {
    if (m[1] === 'info' || m[1] === 'config|resetstat') continue;
    total += Number(m[2]);
    if (m[1] === 'evalsha') {
      evalsha = Number(m[2]);
      usecPerCall = Number(m[3]);
    }
  }
  return { evalsha, usecPerCall, total };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const quartiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))]!;
  return [at(0.25), at(0.75)] as const;
};

/** `--instructions`: every row once under callgrind, instructions per call. */
async function countInstructions(): Promise<void> {
  if (!hasValgrind()) throw new Error('--instructions needs valgrind (apt-get install valgrind)');
  const n = 2000;
  const server = await startCallgrindRedis();
  try {
    const lines = ['| row | redis instructions/call | × vs | vs |', '| --- | --- | --- | --- |'];
    const counts = new Map<string, number>();
    for (const row of ROWS) {
      const sha = String(await server.redis.script('LOAD', row.lua));
      // Warm: the first calls create the key and the script's Lua state.
      await benchmark(server.port, sha, row, 100, '1');
      counts.set(
        row.name,
        await server.instructionsPerCall(() => benchmark(server.port, sha, row, n, '1'), n),
      );
    }
    for (const row of ROWS) {
      const own = counts.get(row.name)!;
      const ratio = own / counts.get(row.vs)!;
      lines.push(`| ${row.name} | ${Math.round(own)} | ${ratio.toFixed(2)}× | ${row.vs} |`);
    }
    console.log(`\n${n} calls per row, one connection, Redis under callgrind\n`);
    console.log(lines.join('\n'));
  } finally {
    await server.stop();
  }
}

if (values.instructions) {
  await countInstructions();
  process.exit(0);
}

const server = await startRedisServer();
if (pinned) pinProcess(server.pid, pinned.load);
const redis = new Redis(server.url);
try {
  const shas = new Map<Row, string>();
  for (const row of ROWS) shas.set(row, String(await redis.script('LOAD', row.lua)));
  const cpu = new Map<string, number[]>(ROWS.map((r) => [r.name, []]));
  const script = new Map<string, number[]>(ROWS.map((r) => [r.name, []]));
  const cmds = new Map<string, number>();
  // One discarded warm-up round, then the measured ones.
  for (let round = -1; round < rounds; round++) {
    const order = ROWS.map((_, i) => ROWS[(i + Math.max(0, round)) % ROWS.length]!);
    for (const row of order) {
      await redis.config('RESETSTAT');
      const before = await redis.info('cpu');
      await benchmark(server.port, shas.get(row)!, row);
      const after = await redis.info('cpu');
      const stats = commandStats(await redis.info('commandstats'));
      if (round < 0) continue;
      const used = (info: string) => field(info, 'used_cpu_user') + field(info, 'used_cpu_sys');
      cpu.get(row.name)!.push(((used(after) - used(before)) * 1e6) / stats.evalsha);
      script.get(row.name)!.push(stats.usecPerCall);
      cmds.set(row.name, stats.total / stats.evalsha);
    }
  }
  const lines = [
    `| row | redis µs/call | × vs | vs | script µs/call | cmds/call |`,
    `| --- | --- | --- | --- | --- | --- |`,
  ];
  for (const row of ROWS) {
    const own = cpu.get(row.name)!;
    const base = cpu.get(row.vs)!;
    const ratios = own.map((v, i) => v / base[i]!);
    const [q1, q3] = quartiles(ratios);
    lines.push(
      `| ${row.name} | ${median(own).toFixed(2)} | ${median(ratios).toFixed(2)}× (${q1.toFixed(2)}–${q3.toFixed(2)}) | ${row.vs} | ${median(script.get(row.name)!).toFixed(2)} | ${cmds.get(row.name)!.toFixed(1)} |`,
    );
  }
  console.log(
    `\n${rounds} rounds × ${calls} calls per row, ${values.connections} connections, ${pinned ? `Redis on core ${pinned.load}, redis-benchmark on core ${pinned.server}` : plan}\n`,
  );
  console.log(lines.join('\n'));
} finally {
  await redis.quit();
  await server.stop();
}
