/**
 * Turning rounds of measurements into the one markdown table the README describes.
 *
 * Every figure is a median over rounds with its interquartile range (IQR). Ratios are computed
 * per round, this row against its baseline row in the same round, and then summarised: drift
 * during the run (CPU boost, noisy neighbours) cancels out as long as it affects both rows of a
 * round alike — which is why the runner interleaves the variants. A figure whose IQR exceeds
 * {@link SPREAD_LIMIT} of its median is flagged.
 */
import type autocannon from 'autocannon';
import type { BenchVariant } from '../variants.js';
import {
  type CommandCounts,
  type CommandSources,
  splitBySource,
  totalCalls,
} from './redis-stats.js';

/** IQR ÷ median above which a figure is flagged ⚠. */
export const SPREAD_LIMIT = 0.1;
/**
 * Redis µs/request below this is Redis's own background work (serverCron, the runner's INFO),
 * not the row's: not flagged, and no Redis ratio against it.
 */
export const REDIS_FLOOR_US = 1;
const FLAG = '⚠';

export interface RoundResult {
  /** Completed requests per second over the measured run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses received (the denominator of every per-request figure). */
  completed: number;
  non2xx: number;
  /** Responses other than 2xx, by status code. */
  otherCodes: Record<string, number>;
  errors: number;
  /** CPU µs the server process used during the run (user + system, every thread). */
  serverCpuUs: number;
  /** CPU µs Redis used during the run (Redis rows only). */
  redisCpuUs?: number;
  /** Redis commands executed during the run (Redis rows only). */
  commands?: CommandCounts;
}

export interface VariantRecord {
  variant: BenchVariant;
  /** Resolved baseline row name (itself for a baseline row). */
  baseline: string;
  /** Row the Redis CPU is compared with (undefined when there is none). */
  redisBaseline: string | undefined;
  /** Who sent which command (client or script), from the MONITOR sample of the warm-up. */
  sources?: CommandSources;
  rounds: RoundResult[];
}

export function toRoundResult(
  result: autocannon.Result,
  /** From the start of the run to its last response. */
  seconds: number,
  cpu: { serverUs: number; redisUs?: number },
  commands?: CommandCounts,
): RoundResult {
  const completed = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const otherCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    if (!code.startsWith('2')) otherCodes[code] = (stats as { count: number }).count;
  }
  return {
    rps: seconds > 0 ? completed / seconds : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    completed,
    non2xx: result.non2xx,
    otherCodes,
    errors: result.errors,
    serverCpuUs: cpu.serverUs,
    ...(cpu.redisUs !== undefined ? { redisCpuUs: cpu.redisUs } : {}),
    ...(commands ? { commands } : {}),
  };
}

/** Linear-interpolation quantile (the usual "type 7"), q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median and interquartile range of one figure over rounds. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
  /** (q3 − q1) ÷ median; NaN with fewer than two values. */
  relIqr: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((value) => Number.isFinite(value));
  const mid = median(finite);
  const q1 = quantile(finite, 0.25);
  const q3 = quantile(finite, 0.75);
  return {
    median: mid,
    q1,
    q3,
    relIqr: finite.length > 1 && mid > 0 ? (q3 - q1) / mid : Number.NaN,
    n: finite.length,
  };
}

const noisy = (s: Spread) => s.relIqr > SPREAD_LIMIT;

export interface TableRow {
  name: string;
  baseline: string;
  redisBaseline: string | undefined;
  serverUs: Spread;
  /** Per-round server µs/req ÷ the baseline row's in the same round. */
  serverRatio: Spread;
  redisUs: Spread | undefined;
  redisRatio: Spread | undefined;
  /** Commands the clients sent per request (undefined without Redis or without a sample). */
  roundTrips: number | undefined;
  /** Redis commands executed per request, scripts' included; undefined for rows without Redis. */
  cmdsPerReq: number | undefined;
  /** Per request: commands clients sent, and commands scripts ran. */
  perCommand: CommandSources | undefined;
  rps: Spread;
  rpsRatio: Spread;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  otherCodes: Record<string, number>;
  errors: number;
}

function perRound(record: VariantRecord, figure: (round: RoundResult) => number | undefined) {
  return record.rounds.map((round) => figure(round) ?? Number.NaN);
}

const serverUsOf = (round: RoundResult) =>
  round.completed > 0 ? round.serverCpuUs / round.completed : Number.NaN;
const redisUsOf = (round: RoundResult) =>
  round.redisCpuUs !== undefined && round.completed > 0
    ? round.redisCpuUs / round.completed
    : Number.NaN;

function pairedRatios(
  record: VariantRecord,
  base: VariantRecord | undefined,
  figure: (round: RoundResult) => number,
  floor = 0,
): number[] {
  if (!base) return [];
  return record.rounds.map((round, i) => {
    const baseRound = base.rounds[i];
    if (!baseRound) return Number.NaN;
    const denominator = figure(baseRound);
    return denominator > floor ? figure(round) / denominator : Number.NaN;
  });
}

export function summarise(records: readonly VariantRecord[]): TableRow[] {
  const byName = new Map(records.map((record) => [record.variant.name, record]));
  return records.map((record) => {
    const base = byName.get(record.baseline);
    const redisBase = record.redisBaseline ? byName.get(record.redisBaseline) : undefined;
    let cmdsPerReq: number | undefined;
    let roundTrips: number | undefined;
    let perCommand: CommandSources | undefined;
    let redisUs: Spread | undefined;
    let redisRatio: Spread | undefined;
    if (record.variant.redis) {
      const completed = record.rounds.reduce((sum, round) => sum + round.completed, 0);
      const totals: CommandCounts = {};
      for (const round of record.rounds) {
        for (const [name, calls] of Object.entries(round.commands ?? {})) {
          totals[name] = (totals[name] ?? 0) + calls;
        }
      }
      const perReq = (counts: CommandCounts) =>
        Object.fromEntries(
          Object.entries(counts)
            .sort(([, a], [, b]) => b - a)
            .map(([name, calls]) => [name, completed > 0 ? calls / completed : Number.NaN]),
        );
      cmdsPerReq = completed > 0 ? totalCalls(totals) / completed : Number.NaN;
      if (record.sources) {
        const split = splitBySource(totals, record.sources);
        roundTrips = completed > 0 ? totalCalls(split.client) / completed : Number.NaN;
        perCommand = { client: perReq(split.client), script: perReq(split.script) };
      } else {
        perCommand = { client: perReq(totals), script: {} };
      }
      redisUs = spread(perRound(record, redisUsOf));
      if (redisBase?.variant.redis) {
        redisRatio = spread(pairedRatios(record, redisBase, redisUsOf, REDIS_FLOOR_US));
      }
    }
    return {
      name: record.variant.name,
      baseline: record.baseline,
      redisBaseline: record.variant.redis ? record.redisBaseline : undefined,
      serverUs: spread(perRound(record, serverUsOf)),
      serverRatio: spread(pairedRatios(record, base, serverUsOf)),
      redisUs,
      redisRatio,
      roundTrips,
      cmdsPerReq,
      perCommand,
      rps: spread(perRound(record, (round) => round.rps)),
      rpsRatio: spread(pairedRatios(record, base, (round) => round.rps)),
      p50Ms: median(perRound(record, (round) => round.p50Ms)),
      p99Ms: median(perRound(record, (round) => round.p99Ms)),
      non2xx: record.rounds.reduce((sum, round) => sum + round.non2xx, 0),
      otherCodes: record.rounds.reduce<Record<string, number>>((codes, round) => {
        for (const [code, n] of Object.entries(round.otherCodes))
          codes[code] = (codes[code] ?? 0) + n;
        return codes;
      }, {}),
      errors: record.rounds.reduce((sum, round) => sum + round.errors, 0),
    };
  });
}

const DASH = '—';

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? DASH : value.toFixed(digits);
}

/** Latency: autocannon reports whole milliseconds on fast runs; do not pad them with zeros. */
function ms(value: number): string {
  return Number.isNaN(value) ? DASH : String(Number(value.toFixed(2)));
}

/** µs/request: one decimal below 100, whole numbers above. */
function us(value: number): string {
  return value < 100 ? value.toFixed(1) : Math.round(value).toString();
}

/** `234 ±3%`: median and IQR ÷ median, flagged above the limit (unless below `floor`). */
function figure(s: Spread | undefined, format: (value: number) => string, floor = 0): string {
  if (!s || Number.isNaN(s.median)) return DASH;
  const pct = Number.isNaN(s.relIqr) ? '' : ` ±${Math.round(s.relIqr * 100)}%`;
  return `${format(s.median)}${pct}${noisy(s) && s.median >= floor ? ` ${FLAG}` : ''}`;
}

/** `1.23× (1.20–1.27)`: median of per-round ratios and their IQR, flagged when wide. */
function ratio(s: Spread | undefined, self: boolean): string {
  if (self) return '1×';
  if (!s || Number.isNaN(s.median)) return DASH;
  const range = s.n > 1 ? ` (${s.q1.toFixed(2)}–${s.q3.toFixed(2)})` : '';
  return `${s.median.toFixed(2)}×${range}${noisy(s) ? ` ${FLAG}` : ''}`;
}

export function renderTable(rows: readonly TableRow[]): string {
  const header = [
    'variant',
    'server µs/req',
    'server ×',
    'Redis µs/req',
    'Redis ×',
    'rt/req',
    'cmds/req',
    'req/s',
    'p50 ms',
    'p99 ms',
    'req/s ×',
    'vs',
    'Redis vs',
  ];
  const align = header.map((_, i) => (i === 0 || i >= header.length - 2 ? '---' : '---:'));
  const lines = [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const row of rows) {
    const rps = (value: number) => Math.round(value).toLocaleString('en-US');
    const cells = [
      row.name,
      figure(row.serverUs, us),
      ratio(row.serverRatio, row.baseline === row.name),
      figure(row.redisUs, us, REDIS_FLOOR_US),
      row.redisUs ? ratio(row.redisRatio, row.redisBaseline === row.name) : DASH,
      fixed(row.roundTrips, 2),
      fixed(row.cmdsPerReq, 2),
      figure(row.rps, rps),
      ms(row.p50Ms),
      ms(row.p99Ms),
      ratio(row.rpsRatio, row.baseline === row.name),
      row.baseline === row.name ? '(baseline)' : row.baseline,
      row.redisBaseline === undefined
        ? DASH
        : row.redisBaseline === row.name
          ? '(baseline)'
          : row.redisBaseline,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Lines under the table: flagged rows, per-command breakdown, suspect rows. */
export function renderNotes(rows: readonly TableRow[]): string[] {
  const notes: string[] = [];
  const flagged = rows
    .map((row) => {
      const figures = [
        noisy(row.serverUs) && 'server µs',
        noisy(row.serverRatio) && 'server ratio',
        row.redisUs && noisy(row.redisUs) && row.redisUs.median >= REDIS_FLOOR_US && 'Redis µs',
        row.redisRatio && noisy(row.redisRatio) && 'Redis ratio',
        noisy(row.rps) && 'req/s',
        noisy(row.rpsRatio) && 'req/s ratio',
      ].filter(Boolean);
      return figures.length ? `${row.name} (${figures.join(', ')})` : undefined;
    })
    .filter(Boolean);
  const steady = rows.length - flagged.length;
  notes.push(
    flagged.length === 0
      ? `- no figure has an IQR over ${SPREAD_LIMIT * 100} % of its median`
      : flagged.length <= 10
        ? `- ${FLAG} IQR over ${SPREAD_LIMIT * 100} % of the median: ${flagged.join('; ')}`
        : `- ${FLAG} ${flagged.length} of ${rows.length} rows have a figure whose IQR exceeds ${SPREAD_LIMIT * 100} % of its median (${steady} have none): trust only figures without ${FLAG}, and rerun the rows you need (\`--only\`, more \`--rounds\`) on a quieter machine`,
  );
  for (const row of rows) {
    if (!row.perCommand) continue;
    const list = (counts: Record<string, number>) =>
      Object.entries(counts)
        .filter(([, n]) => n >= 0.005)
        .map(([name, n]) => `${name} ${n.toFixed(2)}`)
        .join(', ') || 'none';
    notes.push(
      `- ${row.name} per request: sent ${list(row.perCommand.client)}; in scripts ${list(row.perCommand.script)}`,
    );
  }
  for (const row of rows) {
    if (row.errors > 0 || row.non2xx > 0) {
      const codes = Object.entries(row.otherCodes)
        .map(([code, n]) => `${code} × ${n}`)
        .join(', ');
      notes.push(
        `- **${row.name}**: ${row.non2xx} non-2xx responses${codes ? ` (${codes})` : ''}, ${row.errors} connection errors/timeouts in the measured rounds — check the server before trusting this row`,
      );
    }
  }
  return notes;
}
