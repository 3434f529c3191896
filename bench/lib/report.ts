/**
 * Turning rounds of autocannon results into the one markdown table the README describes.
 * Throughput is the median over rounds; ratios are the median of per-round ratios, so drift
 * during the run (thermal, noisy neighbours) cancels out as long as it affects both rows of a
 * round alike — which is why the runner interleaves the variants.
 */
import type autocannon from 'autocannon';
import type { BenchVariant } from '../variants.js';
import { type CommandCounts, totalCalls } from './redis-stats.js';

export interface RoundResult {
  /** Completed requests per second over the measured run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests sent (the denominator of cmds/req). */
  sent: number;
  non2xx: number;
  errors: number;
  /** Redis commands executed during the run (Redis rows only). */
  commands?: CommandCounts;
}

export interface VariantRecord {
  variant: BenchVariant;
  /** Resolved baseline row name (itself for a baseline row). */
  baseline: string;
  rounds: RoundResult[];
}

export function toRoundResult(result: autocannon.Result, commands?: CommandCounts): RoundResult {
  return {
    rps: result.duration > 0 ? result.requests.total / result.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    sent: result.requests.sent,
    non2xx: result.non2xx,
    errors: result.errors,
    ...(commands ? { commands } : {}),
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface TableRow {
  name: string;
  rps: number;
  /** (max − min) / median of req/s over rounds, percent. */
  spreadPct: number;
  p50Ms: number;
  p99Ms: number;
  /** Redis commands per request sent; undefined for rows without Redis. */
  cmdsPerReq: number | undefined;
  perCommand: Record<string, number> | undefined;
  ratio: number;
  baseline: string;
  non2xx: number;
  errors: number;
}

export function summarise(records: readonly VariantRecord[]): TableRow[] {
  const byName = new Map(records.map((record) => [record.variant.name, record]));
  return records.map((record) => {
    const rps = record.rounds.map((round) => round.rps);
    const base = byName.get(record.baseline);
    const ratios = record.rounds.map((round, i) => {
      const baseRps = base?.rounds[i]?.rps;
      return baseRps ? round.rps / baseRps : Number.NaN;
    });
    const mid = median(rps);
    let cmdsPerReq: number | undefined;
    let perCommand: Record<string, number> | undefined;
    if (record.variant.redis) {
      const sent = record.rounds.reduce((sum, round) => sum + round.sent, 0);
      const totals: CommandCounts = {};
      for (const round of record.rounds) {
        for (const [name, calls] of Object.entries(round.commands ?? {})) {
          totals[name] = (totals[name] ?? 0) + calls;
        }
      }
      cmdsPerReq = sent > 0 ? totalCalls(totals) / sent : Number.NaN;
      perCommand = Object.fromEntries(
        Object.entries(totals)
          .sort(([, a], [, b]) => b - a)
          .map(([name, calls]) => [name, sent > 0 ? calls / sent : Number.NaN]),
      );
    }
    return {
      name: record.variant.name,
      rps: mid,
      spreadPct:
        rps.length > 1 && mid > 0
          ? ((Math.max(...rps) - Math.min(...rps)) / mid) * 100
          : Number.NaN,
      p50Ms: median(record.rounds.map((round) => round.p50Ms)),
      p99Ms: median(record.rounds.map((round) => round.p99Ms)),
      cmdsPerReq,
      perCommand,
      ratio: median(ratios.filter((ratio) => !Number.isNaN(ratio))),
      baseline: record.baseline,
      non2xx: record.rounds.reduce((sum, round) => sum + round.non2xx, 0),
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

export function renderTable(rows: readonly TableRow[]): string {
  const header = ['variant', 'req/s', '±', 'p50 ms', 'p99 ms', 'cmds/req', 'ratio', 'vs'];
  const align = ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---'];
  const lines = [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const row of rows) {
    const cells = [
      row.name,
      Number.isNaN(row.rps) ? DASH : Math.round(row.rps).toLocaleString('en-US'),
      Number.isNaN(row.spreadPct) ? DASH : `${row.spreadPct.toFixed(1)}%`,
      ms(row.p50Ms),
      ms(row.p99Ms),
      fixed(row.cmdsPerReq, 2),
      Number.isNaN(row.ratio) ? DASH : `${row.ratio.toFixed(2)}×`,
      row.baseline === row.name ? '(baseline)' : row.baseline,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Lines under the table: per-command breakdown and anything that makes a row suspect. */
export function renderNotes(rows: readonly TableRow[]): string[] {
  const notes: string[] = [];
  for (const row of rows) {
    if (row.perCommand) {
      const parts = Object.entries(row.perCommand).map(([name, n]) => `${name} ${n.toFixed(2)}`);
      notes.push(`- ${row.name} commands/request: ${parts.join(', ') || 'none'}`);
    }
  }
  for (const row of rows) {
    if (row.errors > 0 || row.non2xx > 0) {
      notes.push(
        `- **${row.name}**: ${row.non2xx} non-2xx responses, ${row.errors} connection errors/timeouts — check the server before trusting this row`,
      );
    }
  }
  return notes;
}
