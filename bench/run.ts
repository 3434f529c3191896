/**
 * `pnpm bench`: starts every selected server variant in its own process, drives each with a
 * fixed number of requests from autocannon here, interleaves the variants over several rounds,
 * and prints one markdown table (also written to `bench/results/<timestamp>.md`): CPU per
 * request of the server process and of Redis first, throughput for context. See
 * bench/README.md.
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
import {
  type BenchOptions,
  MIN_REDIS_SAMPLE,
  matchesOnly,
  parseOptions,
  USAGE,
} from './lib/options.js';
import { coreBusyUs, coresOf, type PinPlan, pinPlan, pinProcess } from './lib/pin.js';
import {
  type CommandCounts,
  commandStats,
  diffCounts,
  redisCpuUs,
  watchCommandSources,
} from './lib/redis-stats.js';
import {
  quantile,
  renderNotes,
  renderTable,
  summarise,
  toRoundResult,
  type VariantRecord,
} from './lib/report.js';
import { killAllNow, type ServerProcess, startServer } from './lib/server-process.js';
import { type BenchVariant, variants } from './variants.js';

/**
 * Pause after each measured run before reading the CPU counters and INFO again, ms: work a
 * server does after answering (writes after sending, closing connections) belongs to the run.
 */
const SETTLE_MS = 50;
/** autocannon's sample interval, ms: how soon it notices that a fixed-count run is over. */
const SAMPLE_MS = 20;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The rows to run: those `--only` selects, plus every row they are compared with. */
function selectVariants(opts: BenchOptions): {
  selected: BenchVariant[];
  baselineOf: Map<string, string>;
  redisBaselineOf: Map<string, string | undefined>;
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
  const redisBaselineOf = new Map<string, string | undefined>();
  for (const variant of variants) {
    if (!variant.redis) continue;
    const base = byName.get(baselineOf.get(variant.name)!)!;
    const redisBase = opts.baseline
      ? base.redis
        ? base.name
        : undefined
      : base.redis
        ? base.name
        : (variant.redisBaseline ??
          variants.find((v) => v.group === variant.group && v.redis)!.name);
    if (redisBase !== undefined && !byName.get(redisBase)?.redis) {
      throw new Error(`row ${variant.name}: redisBaseline ${redisBase} is not a Redis row`);
    }
    redisBaselineOf.set(variant.name, redisBase);
  }
  const wanted = new Set(variants.filter((v) => matchesOnly(v.name, opts.only)).map((v) => v.name));
  if (wanted.size === 0) throw new Error(`--only ${opts.only.join(',')} matches no row`);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...wanted]) {
      for (const base of [baselineOf.get(name), redisBaselineOf.get(name)]) {
        if (base !== undefined && !wanted.has(base)) {
          wanted.add(base);
          grew = true;
        }
      }
    }
  }
  return { selected: variants.filter((v) => wanted.has(v.name)), baselineOf, redisBaselineOf };
}

/**
 * `amount` requests over `--connections` connections; resolves when every one is answered,
 * with the seconds from the start to the last response (autocannon's own `duration` runs to
 * its next sample tick).
 */
async function drive(
  variant: BenchVariant,
  port: number,
  opts: BenchOptions,
  amount: number,
): Promise<{ result: autocannon.Result; seconds: number }> {
  const start = performance.now();
  let last = start;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${variant.path ?? '/'}`,
        connections: opts.connections,
        pipelining: opts.pipelining,
        amount,
        // autocannon notices that every connection is done only on a sample tick (1 s by default).
        sampleInt: SAMPLE_MS,
        method: variant.method ?? 'GET',
        ...(variant.headers ? { headers: variant.headers } : {}),
        ...(variant.body !== undefined ? { body: variant.body } : {}),
        ...variant.autocannon,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', () => {
      last = performance.now();
    });
  });
  return { result, seconds: (last - start) / 1000 };
}

function pct(values: number[]): string {
  const show = (q: number) => `${Math.round(quantile(values, q) * 100)} %`;
  return `${show(0.5)} / ${show(0.9)}`;
}

async function environment(
  redis: Redis | undefined,
  loadAtStart: string,
  pinning: string,
): Promise<string[]> {
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
    // What ran is the working tree: name every changed path, results files aside.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: ROOT,
    })
      .toString()
      .split('\n')
      .map((line) => line.slice(3).trim())
      .filter((file) => file && !file.startsWith('bench/results/'));
    if (dirty.length) {
      // Grouped by directory (two levels): `packages/core (3 files)`.
      const groups = new Map<string, number>();
      for (const file of dirty) {
        const dir = file.split('/').slice(0, 2).join('/');
        groups.set(dir, (groups.get(dir) ?? 0) + 1);
      }
      const list = [...groups].map(([dir, n]) => (n > 1 ? `${dir} (${n} files)` : dir));
      commit += ` + uncommitted changes (not what the commit holds): ${list.join(', ')}`;
    } else {
      commit += ' (clean working tree)';
    }
  } catch {}
  const lines = [
    `- machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${os.platform()} ${os.release()}, load average ${loadAtStart}`,
    `- node ${process.version}; ${versions.join(', ')}`,
    `- commit: ${commit}`,
    `- ${pinning}`,
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
  const { selected, baselineOf, redisBaselineOf } = selection;
  const wallStart = performance.now();
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
    const plan: PinPlan | string = opts.pin ? pinPlan() : 'not pinned (--no-pin)';
    if (typeof plan === 'object') {
      // The runner (autocannon) shares its core with Redis; the server has the other one.
      pinProcess(process.pid, plan.load);
    } else {
      log(plan);
    }
    let redisUrl = opts.redisUrl;
    if (needsRedis && !redisUrl) {
      privateRedis = await startRedisServer();
      redisUrl = privateRedis.url;
      if (typeof plan === 'object') pinProcess(privateRedis.pid, plan.load);
      log(`started a private redis-server at ${redisUrl} (pid ${privateRedis.pid})`);
    } else if (needsRedis) {
      log(
        `using Redis at ${redisUrl} (BENCH_REDIS_URL/REDIS_URL): not pinned, and other traffic skews Redis µs and cmds/req`,
      );
    }
    if (needsRedis && redisUrl) {
      statsClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      statsClient.on('error', (error) => log(`redis (stats): ${error.message}`));
      await statsClient.connect();
    }

    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
    if (redisUrl) env.BENCH_REDIS_URL = redisUrl;
    const serverCore = typeof plan === 'object' ? plan.server : undefined;
    for (const variant of selected) {
      const server = await startServer(variant.name, variant.server, {
        cwd: ROOT,
        env,
        ...(serverCore !== undefined ? { core: serverCore } : {}),
      });
      servers.set(variant.name, server);
      log(`${variant.name}: pid ${server.pid}, port ${server.port}`);
    }
    log(
      `${servers.size} servers started in ${((performance.now() - wallStart) / 1000).toFixed(1)} s`,
    );
    const firstServer = servers.values().next().value as ServerProcess;
    const pinning =
      typeof plan === 'object'
        ? `pinned with taskset: servers on core ${coresOf(firstServer.pid)}, runner (autocannon) on core ${coresOf(process.pid)}${privateRedis ? `, redis-server on core ${coresOf(privateRedis.pid)}` : ' (Redis not ours: not pinned)'}`
        : plan;

    const started = new Date();
    // Other work on the machine is the usual reason for a wide ± column.
    const loadAtStart = os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ');
    const records: VariantRecord[] = selected.map((variant) => ({
      variant,
      baseline: baselineOf.get(variant.name)!,
      redisBaseline: redisBaselineOf.get(variant.name),
      rounds: [],
    }));

    // Warm-up: discarded. A Redis row ends it with a MONITOR sample (the last requests of the
    // warm-up) that tells the commands clients send (round trips) from those scripts run, so
    // that part never drops to zero.
    const sample = Math.max(MIN_REDIS_SAMPLE, opts.connections);
    for (const record of records) {
      const port = servers.get(record.variant.name)!.port;
      const redisRow = record.variant.redis && statsClient !== undefined;
      const watched = redisRow ? sample : 0;
      const plain =
        redisRow && opts.warmup - watched < opts.connections ? 0 : opts.warmup - watched;
      let ok = 0;
      let non2xx = 0;
      let errors = 0;
      const count = (result: autocannon.Result) => {
        ok += result['2xx'];
        non2xx += result.non2xx;
        errors += result.errors;
      };
      if (plain > 0) count((await drive(record.variant, port, opts, plain)).result);
      if (watched > 0) {
        const watch = await watchCommandSources(statsClient!);
        count((await drive(record.variant, port, opts, watched)).result);
        await sleep(SETTLE_MS);
        record.sources = await watch.stop();
      }
      if (plain + watched === 0) continue;
      log(`warm-up ${record.variant.name}: ${ok} × 2xx, ${non2xx} non-2xx, ${errors} errors`);
      if (ok === 0) {
        throw new Error(`${record.variant.name} answered no 2xx during warm-up: check it`);
      }
    }

    // Redis's background work (serverCron, key expiry) lands in every Redis row's figure.
    let redisIdle: string | undefined;
    if (statsClient) {
      const before = await redisCpuUs(statsClient);
      const t0 = performance.now();
      await sleep(1000);
      const perS = ((await redisCpuUs(statsClient)) - before) / ((performance.now() - t0) / 1000);
      redisIdle = `- Redis idle (no row running): ${Math.round(perS)} µs CPU per second, included in Redis µs/req (≈ ${(perS / 1000).toFixed(2)} µs/req at 1,000 req/s)`;
    }
    // How much of the two cores other processes took during each measured run.
    const contention: { serverCore: number; loadCore: number }[] = [];

    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round so no row always runs first (or right after a heavy one).
      const order = records.map((_, i) => records[(i + round) % records.length]!);
      for (const record of order) {
        const server = servers.get(record.variant.name)!;
        if (!server.isRunning()) throw new Error(`${server.name} exited:\n${server.logTail()}`);
        const redis = record.variant.redis ? statsClient : undefined;
        const commandsBefore = redis ? await commandStats(redis) : undefined;
        const redisBefore = redis ? await redisCpuUs(redis) : undefined;
        const cpuBefore = await server.cpuUsage();
        const t0 = performance.now();
        const runnerBefore = process.cpuUsage();
        const busyBefore =
          typeof plan === 'object' ? [coreBusyUs([plan.server]), coreBusyUs([plan.load])] : [];
        const { result, seconds } = await drive(record.variant, server.port, opts, opts.requests);
        // Handlers still running when the last response arrived finish their work first.
        await sleep(SETTLE_MS);
        const busyAfter =
          typeof plan === 'object' ? [coreBusyUs([plan.server]), coreBusyUs([plan.load])] : [];
        const runner = process.cpuUsage(runnerBefore);
        const elapsedUs = (performance.now() - t0) * 1000;
        const cpuAfter = await server.cpuUsage();
        const serverUs =
          cpuAfter.userUs + cpuAfter.systemUs - (cpuBefore.userUs + cpuBefore.systemUs);
        let redisUs: number | undefined;
        let commands: CommandCounts | undefined;
        if (redis && redisBefore !== undefined && commandsBefore) {
          redisUs = (await redisCpuUs(redis)) - redisBefore;
          commands = diffCounts(commandsBefore, await commandStats(redis));
        }
        const [s0, l0] = busyBefore;
        const [s1, l1] = busyAfter;
        if (s0 !== undefined && s1 !== undefined && l0 !== undefined && l1 !== undefined) {
          // Busy time of each core minus what our own processes on it used (tick-sampled: a
          // few % either way on a short run).
          const ours = runner.user + runner.system + (privateRedis ? (redisUs ?? 0) : 0);
          contention.push({
            serverCore: Math.max(0, s1 - s0 - serverUs) / elapsedUs,
            loadCore: Math.max(0, l1 - l0 - ours) / elapsedUs,
          });
        }
        const others = contention.at(-1);
        const roundResult = toRoundResult(
          result,
          seconds,
          { serverUs, ...(redisUs !== undefined ? { redisUs } : {}) },
          commands,
        );
        record.rounds.push(roundResult);
        const perReq = (cpu: number) => (cpu / Math.max(roundResult.completed, 1)).toFixed(1);
        log(
          `round ${round + 1}/${opts.rounds} ${record.variant.name}: server ${perReq(serverUs)} µs/req${redisUs !== undefined ? `, Redis ${perReq(redisUs)} µs/req` : ''}, ${Math.round(roundResult.rps)} req/s, p99 ${roundResult.p99Ms} ms${roundResult.non2xx ? `, ${roundResult.non2xx} non-2xx` : ''}${others && busyBefore.length ? `; other processes ${Math.round(others.serverCore * 100)} % of the server core, ${Math.round(others.loadCore * 100)} % of the load core` : ''}`,
        );
      }
    }

    const rows = summarise(records);
    const table = renderTable(rows);
    const notes = renderNotes(rows);
    const wallS = (performance.now() - wallStart) / 1000;
    const settings = `${opts.rounds} round(s) × ${opts.requests.toLocaleString('en-US')} requests per row (after a ${opts.warmup.toLocaleString('en-US')}-request warm-up), ${opts.connections} connections, pipelining ${opts.pipelining}; rows interleaved, order rotated each round`;
    const output = [
      `# Keel bench — ${started.toISOString()}`,
      '',
      `${settings}. Each figure is the median over rounds, ± its interquartile range ÷ median, ${'⚠'} when that exceeds 10 %. Ratios are medians of per-round ratios to the row named in "vs" (Redis: "Redis vs"), with their interquartile range; compare ratios, not absolute numbers, and only within one run.`,
      '',
      table,
      '',
      ...(notes.length ? [...notes, ''] : []),
      ...(await environment(statsClient, loadAtStart, pinning)),
      ...(contention.length
        ? [
            `- other processes during measured runs (median / 90th percentile of runs): ${pct(contention.map((c) => c.serverCore))} of the server core, ${pct(contention.map((c) => c.loadCore))} of the runner + Redis core`,
          ]
        : []),
      ...(redisIdle ? [redisIdle] : []),
      `- wall time: ${Math.round(wallS)} s (${selected.length} rows, servers' start-up included)`,
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
