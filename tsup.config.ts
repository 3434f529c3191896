/**
 * One build for every package (`pnpm build`, or `tsup --config ../../tsup.config.ts` inside a
 * package): `src/index.ts` → `dist/index.js` (ESM) + `dist/index.cjs` (CommonJS), each with its
 * own declarations (`index.d.ts`, `index.d.cts`) so TypeScript resolves the right flavour under
 * `node16`/`nodenext` and `bundler` for ESM and CommonJS consumers alike (issue 15).
 *
 * Why tsup rather than two tsc runs: three packages load an optional peer synchronously with
 * `createRequire(import.meta.url)` (express-session's `Store`, prom-client, the OpenTelemetry
 * API). tsc refuses `import.meta` in CommonJS output; tsup's `shims` turns it into the module's
 * own file URL there. It also writes one file per format, so no `package.json` marker folders.
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'node',
  // The oldest Node the packages support (`engines`), not the one that builds them.
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  splitting: false,
  // Nothing from node_modules is inlined: every import stays an import, so a package that is
  // missing from `dependencies` (or only a devDependency) fails in test/packaging instead of
  // being bundled silently, and the user's own copies of ioredis, express… are the ones used.
  skipNodeModulesBundle: true,
  esbuildOptions(options) {
    // `import './events.js'` pulls in a file that only augments `KeelEventMap` (types, no
    // code); dropping it from the JavaScript is right, and the declarations keep it.
    options.logOverride = { ...options.logOverride, 'ignored-bare-import': 'silent' };
  },
});
