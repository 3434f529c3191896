/**
 * Debian's headless Chromium for the browser tests, started by the test with a fresh profile
 * and a loopback DevTools port, driven over CDP by playwright-core. Required, never skipped:
 * without Chromium the test fails with the install command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface RunningChromium {
  browser: Browser;
  /** Close the browser, kill the process (by its PID) and remove the profile. */
  close(): Promise<void>;
}

function devToolsEndpoint(chrome: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`Chromium did not open its DevTools port in 10 s:\n${output}`)),
      10_000,
    );
    chrome.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    chrome.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited with code ${code}:\n${output}`));
    });
  });
}

export async function launchChromium(): Promise<RunningChromium> {
  if (!CHROMIUM) {
    throw new Error(
      'Chromium is not installed: run `apt-get install -y chromium` (Debian) or set CHROMIUM_PATH. ' +
        "Keel's browser tests need it and never skip.",
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'keel-chromium-'));
  const chrome = spawn(
    CHROMIUM,
    [
      ...FLAGS,
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ],
    // Its own process group: closing kills the renderer and helper processes with it, which
    // otherwise outlive the browser and keep writing into the profile.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const close = async () => {
    if (chrome.exitCode === null) {
      const exited = once(chrome, 'exit');
      process.kill(-chrome.pid!, 'SIGKILL');
      await exited;
    }
    // Chromium's helper processes outlive a SIGKILL of the browser for a moment, still writing
    // into the profile: retry instead of failing on ENOTEMPTY.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    const browser = await chromium.connectOverCDP(await devToolsEndpoint(chrome), {
      timeout: 10_000,
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
