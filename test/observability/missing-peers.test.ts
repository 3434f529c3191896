/**
 * An application that installed @keel/prometheus or @keel/otel without its peer: the adapter's
 * source is laid out in a scratch directory whose node_modules has @keel/core and
 * @keel/telemetry but neither prom-client nor @opentelemetry/api, and a child process creates
 * the metrics there. It must get the coded error that says what to install — not
 * ERR_MODULE_NOT_FOUND at import time.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// tsx's loader by path, run by plain node: pnpm's bin shims set NODE_PATH to the whole
// workspace store, which would find the very peers this test hides.
const TSX_LOADER = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'keel-missing-peer-'));

/** The adapter's source beside a node_modules without its peer. */
function layOut(adapter: 'otel' | 'prometheus'): string {
  const dir = mkdtempSync(join(scratch, `${adapter}-`));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  cpSync(join(ROOT, 'packages', adapter, 'src'), join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules/@keel'), { recursive: true });
  for (const pkg of ['core', 'telemetry']) {
    symlinkSync(join(ROOT, 'packages', pkg), join(dir, 'node_modules/@keel', pkg), 'dir');
  }
  return dir;
}

async function run(dir: string, script: string): Promise<Record<string, unknown>> {
  const file = join(dir, 'app.ts');
  writeFileSync(file, script);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', TSX_LOADER, file], {
    cwd: dir,
    env: { ...process.env, NODE_PATH: '' },
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const REPORT = `
  .then(
    () => console.log(JSON.stringify({ ok: true })),
    (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, isKeel: e.type?.startsWith('urn:keel:') })),
  );`;

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a missing peer dependency', () => {
  it('@keel/prometheus without prom-client: KEEL_ERR_PROMETHEUS_PEER_MISSING, saying what to install', async () => {
    const dir = layOut('prometheus');
    const result = await run(
      dir,
      `import { createPrometheusMetrics } from './src/index.ts';
       const registry = { getSingleMetric() {}, registerMetric() {} };
       Promise.resolve().then(() => createPrometheusMetrics({ registry }))${REPORT}`,
    );
    expect(result).toMatchObject({
      name: 'PrometheusPeerMissingError',
      code: 'KEEL_ERR_PROMETHEUS_PEER_MISSING',
      isKeel: true,
    });
    expect(result.message).toContain('npm install prom-client');
  }, 30_000);

  it('@keel/otel without @opentelemetry/api: KEEL_ERR_OTEL_PEER_MISSING when the API is needed', async () => {
    const dir = layOut('otel');
    const result = await run(
      dir,
      `import { createOtelMetrics } from './src/index.ts';
       Promise.resolve().then(() => createOtelMetrics())${REPORT}`,
    );
    expect(result).toMatchObject({
      name: 'OtelPeerMissingError',
      code: 'KEEL_ERR_OTEL_PEER_MISSING',
      isKeel: true,
    });
    expect(result.message).toContain('npm install @opentelemetry/api');
  }, 30_000);

  it('@keel/otel given a meter and no spans does not need the API', async () => {
    const dir = layOut('otel');
    const sdk = join(ROOT, 'packages/otel/node_modules/@opentelemetry/sdk-metrics/dist/index.mjs');
    const result = await run(
      dir,
      `import { createOtelMetrics } from './src/index.ts';
       import { MeterProvider } from ${JSON.stringify(sdk)};
       const meter = new MeterProvider().getMeter('app');
       Promise.resolve().then(() => createOtelMetrics({ meter }).events.emit('cache.invalidate', { tags: 1, keys: 0 }))${REPORT}`,
    );
    expect(result).toEqual({ ok: true });
  }, 30_000);
});
