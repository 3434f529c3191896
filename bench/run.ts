/**
 * `pnpm bench`: starts every selected server variant in its own process, drives each with
 * autocannon from here, interleaves the variants over several rounds, and prints one markdown
 * table (also written to `bench/results/<timestamp>.md`). See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../test/support/redis-server.js';
import { type BenchOptions, matchesOnly, parseOptions, USAGE } from './lib/options.js';
import { type CommandCounts, commandStats, diffCounts } from './lib/redis-stats.js';
import {
  renderNotes,
  renderTable,
  summarise,
  toRoundResult,
  type VariantRecord,
} from './lib/report.js';
import { killAllNow, type ServerProcess, startServer } from './lib/server-process.js';
import { type BenchVariant, variants } from './variants.js';

/** Pause after a Redis row's run before reading INFO again, ms. */
const SETTLE_MS = 200;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The rows to run: those `--only` selects, plus every row they are compared with. */
function selectVariants(opts: BenchOptions): {
  selected: BenchVariant[];
  baselineOf: Map<string, string>;
} {
  const byName = new Map(variants.map((variant) => [variant.name, variant]));
  if (byName.size !== variants.length) throw new Error('bench/variants.ts has duplicate names');
  if (opts.baseline && !byName.has(opts.baseline)) {
    throw new Error(
      `--baseline ${opts.baseline}: no such row (rows: ${[...byName.keys()].join(', ')})`,
    );
  }
  const baselineOf = new Map<string, string>();
  for (const variant of variants) {
    const base =
      opts.baseline ?? variant.baseline ?? variants.find((v) => v.group === variant.group)!.name;
    if (!byName.has(base)) throw new Error(`row ${variant.name}: baseline ${base} does not exist`);
    baselineOf.set(variant.name, base);
  }
  const wanted = new Set(variants.filter((v) => matchesOnly(v.name, opts.only)).map((v) => v.name));
  if (wanted.size === 0) throw new Error(`--only ${opts.only.join(',')} matches no row`);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...wanted]) {
      const base = baselineOf.get(name)!;
      if (!wanted.has(base)) {
        wanted.add(base);
        grew = true;
      }
    }
  }
  return { selected: variants.filter((v) => wanted.has(v.name)), baselineOf };
}

function drive(
  variant: BenchVariant,
  port: number,
  opts: BenchOptions,
  durationS: number,
): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}${variant.path ?? '/'}`,
    connections: opts.connections,
    pipelining: opts.pipelining,
    duration: durationS,
    method: variant.method ?? 'GET',
    ...(variant.headers ? { headers: variant.headers } : {}),
    ...(variant.body !== undefined ? { body: variant.body } : {}),
    ...variant.autocannon,
  });
}

async function environment(redis: Redis | undefined, loadAtStart: string): Promise<string[]> {
  const cpus = os.cpus();
  const versions: string[] = [];
  for (const pkg of ['express', 'koa', 'ioredis', 'autocannon']) {
    try {
      const json = JSON.parse(
        await readFile(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'),
      ) as { version: string };
      versions.push(`${pkg} ${json.version}`);
    } catch {}
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT }).toString().trim();
    if (dirty) commit += ' (uncommitted changes)';
  } catch {}
  const lines = [
    `- machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${os.platform()} ${os.release()}, load average ${loadAtStart}`,
    `- node ${process.version}; ${versions.join(', ')}`,
    `- commit: ${commit}`,
  ];
  if (redis) {
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    lines.push(`- redis ${version}`);
  }
  return lines;
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  let selection: ReturnType<typeof selectVariants>;
  try {
    const parsed = parseOptions(process.argv.slice(2), process.env);
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    opts = parsed;
    selection = selectVariants(opts);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { selected, baselineOf } = selection;
  const needsRedis = selected.some((variant) => variant.redis);

  let privateRedis: RedisServer | undefined;
  let statsClient: Redis | undefined;
  const servers = new Map<string, ServerProcess>();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping servers`);
    void cleanup().finally(() => process.exit(130));
  };
  async function cleanup(): Promise<void> {
    await Promise.allSettled([...servers.values()].map((server) => server.stop()));
    killAllNow();
    statsClient?.disconnect();
    await privateRedis?.stop().catch(() => {});
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let redisUrl = opts.redisUrl;
    if (needsRedis && !redisUrl) {
      privateRedis = await startRedisServer();
      redisUrl = privateRedis.url;
      log(`started a private redis-server at ${redisUrl} (pid ${privateRedis.pid})`);
    } else if (needsRedis) {
      log(`using Redis at ${redisUrl} (BENCH_REDIS_URL/REDIS_URL): other traffic skews cmds/req`);
    }
    if (needsRedis && redisUrl) {
      statsClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      statsClient.on('error', (error) => log(`redis (stats): ${error.message}`));
      await statsClient.connect();
    }

    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
    if (redisUrl) env.BENCH_REDIS_URL = redisUrl;
    for (const variant of selected) {
      const server = await startServer(variant.name, variant.server, { cwd: ROOT, env });
      servers.set(variant.name, server);
      log(`${variant.name}: pid ${server.pid}, port ${server.port}`);
    }

    const started = new Date();
    // Other work on the machine is the usual reason for a wide ± column.
    const loadAtStart = os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ');
    const records: VariantRecord[] = selected.map((variant) => ({
      variant,
      baseline: baselineOf.get(variant.name)!,
      rounds: [],
    }));

    if (opts.warmupS > 0) {
      for (const record of records) {
        const result = await drive(
          record.variant,
          servers.get(record.variant.name)!.port,
          opts,
          opts.warmupS,
        );
        const ok = result['2xx'];
        log(
          `warm-up ${record.variant.name}: ${ok} × 2xx, ${result.non2xx} non-2xx, ${result.errors} errors`,
        );
        if (ok === 0) {
          throw new Error(`${record.variant.name} answered no 2xx during warm-up: check it`);
        }
      }
    }

    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round so no row always runs first (or right after a heavy one).
      const order = records.map((_, i) => records[(i + round) % records.length]!);
      for (const record of order) {
        const server = servers.get(record.variant.name)!;
        if (!server.isRunning()) throw new Error(`${server.name} exited:\n${server.logTail()}`);
        const before =
          record.variant.redis && statsClient ? await commandStats(statsClient) : undefined;
        const result = await drive(record.variant, server.port, opts, opts.durationS);
        let commands: CommandCounts | undefined;
        if (before && statsClient) {
          // Handlers still running when autocannon stopped finish their commands first.
          await sleep(SETTLE_MS);
          commands = diffCounts(before, await commandStats(statsClient));
        }
        const roundResult = toRoundResult(result, commands);
        record.rounds.push(roundResult);
        log(
          `round ${round + 1}/${opts.rounds} ${record.variant.name}: ${Math.round(roundResult.rps)} req/s, p99 ${roundResult.p99Ms} ms`,
        );
      }
    }

    const rows = summarise(records);
    const table = renderTable(rows);
    const notes = renderNotes(rows);
    const settings = `${opts.rounds} round(s) × ${opts.durationS} s per row (after ${opts.warmupS} s warm-up), ${opts.connections} connections, pipelining ${opts.pipelining}`;
    const output = [
      `# Keel bench — ${started.toISOString()}`,
      '',
      `${settings}. Ratios are the median of per-round ratios to the row named in "vs"; compare ratios, not absolute numbers, and only within one run.`,
      '',
      table,
      '',
      ...(notes.length ? [...notes, ''] : []),
      ...(await environment(statsClient, loadAtStart)),
      '',
    ].join('\n');
    process.stdout.write(`\n${output}`);

    if (opts.save) {
      const dir = path.join(ROOT, 'bench', 'results');
      await mkdir(dir, { recursive: true });
      const stamp = `${started.toISOString().slice(0, 19).replaceAll(':', '-')}Z`;
      const file = path.join(dir, `${stamp}.md`);
      await writeFile(file, output);
      log(`written to ${path.relative(ROOT, file)}`);
    }
    return 0;
  } catch (error) {
    if (interrupted) return 130;
    console.error(
      `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 1;
  } finally {
    if (!interrupted) await cleanup();
  }
}

process.exit(await main());
