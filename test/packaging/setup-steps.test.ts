/**
 * Issue 15: the README's set-up is the one CI runs. .ci/run may run only commands the README's
 * "Getting started" gives a new user (it skips `pnpm start`), in the README's order, and the
 * set-up script they share installs what the suite needs: pnpm 10, redis-server and Chromium.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './pack.js';
import { section } from './readme.js';

const readmeCommands = (): string[] => {
  const gettingStarted = section(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'Getting started');
  const blocks = [...(gettingStarted ?? '').matchAll(/^```sh\n([\s\S]*?)^```$/gm)];
  return blocks.flatMap(([, body]) =>
    body!
      .split('\n')
      .flatMap((line) => line.split('&&'))
      .map((command) => command.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
};

const ciCommands = (): string[] =>
  readFileSync(join(ROOT, '.ci/run'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    // Its own plumbing: shell options, the working directory, the log helper.
    .filter((line) => !/^(set |cd |log\b|log\(\))/.test(line));

it(".ci/run runs the README's set-up and test commands, in order, and nothing else", () => {
  const readme = readmeCommands();
  expect(readme).toEqual([
    'bash scripts/setup-machine.sh',
    'pnpm install',
    'pnpm start',
    'pnpm test',
  ]);
  expect(ciCommands()).toEqual(readme.filter((command) => command !== 'pnpm start'));
});

it('the shared set-up script installs pnpm 10, redis-server and chromium when missing', () => {
  const script = readFileSync(join(ROOT, 'scripts/setup-machine.sh'), 'utf8');
  expect(script).toContain('npm install -g pnpm@10');
  expect(script).toMatch(/missing\+=\(redis-server\)/);
  expect(script).toMatch(/missing\+=\(chromium\)/);
  expect(script).toContain('apt-get install -y');
});
