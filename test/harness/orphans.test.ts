import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it, vi } from 'vitest';
import { pidExists } from './process-state.js';

const fixture = fileURLToPath(new URL('./fixtures/orphan-server.ts', import.meta.url));

/** Runs the fixture in a fresh Node process and returns it with the server it started. */
async function startOrphaningProcess(mode: 'exit' | 'wait') {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const server = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(JSON.parse(output.split('\n')[0]!));
    });
    child.once('exit', (code) => reject(new Error(`fixture exited early (${code}): ${output}`)));
  });
  return { child, server };
}

// Each case pays for a fresh Node + tsx start, so the two run side by side.
it.concurrent('kills and cleans up servers left running when the process exits', async ({
  expect,
}) => {
  const { child, server } = await startOrphaningProcess('exit');
  await new Promise((resolve) =>
    child.exitCode === null ? child.once('exit', resolve) : resolve(0),
  );
  await vi.waitFor(() => expect(pidExists(server.pid)).toBe(false), { timeout: 5_000 });
  expect(existsSync(server.dir)).toBe(false);
});

it.concurrent('kills and cleans up servers left running when the process itself is SIGKILLed', async ({
  expect,
}) => {
  const { child, server } = await startOrphaningProcess('wait');
  expect(pidExists(server.pid)).toBe(true);
  child.kill('SIGKILL');
  await vi.waitFor(() => expect(pidExists(server.pid)).toBe(false), { timeout: 5_000 });
  await vi.waitFor(() => expect(existsSync(server.dir)).toBe(false), { timeout: 5_000 });
});
