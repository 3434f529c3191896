import { defineConfig } from 'vitest/config';

// One run covers every package against source: each package's own tests plus the
// cross-package suites in test/. The global setup starts the Redis servers (standalone and a
// 3-master cluster) once per run; each test isolates itself with its own key prefix.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
