/**
 * Lua scripts registered with ioredis `defineCommand`, which sends EVALSHA and falls back to
 * EVAL (loading the script) only when the server answers NOSCRIPT — after a restart or a
 * `SCRIPT FLUSH`. There is no hand-kept SHA table to keep in sync.
 *
 * Command names are namespaced and versioned (`keel:rl:gcra-consume:0.1.0`), so two libraries,
 * or two Keel versions, sharing the application's client never overwrite each other's scripts.
 */
import type { RedisClient } from './client.js';

/**
 * A script as `scripts/gen-lua.ts` generates it from `src/scripts/<name>-<keys>.lua`, or from
 * `src/scripts/<name>-n.lua` for a script that takes a variable number of keys.
 */
export interface LuaScript {
  /** Kebab-case name without the key count, e.g. `gcra-consume`. */
  readonly name: string;
  /**
   * Keys the script takes. For a variadic script (`variadicKeys: true`), the fewest it takes:
   * each call then declares its own key count (`EVALSHA sha <keys.length> …`), so every key is
   * still in `KEYS` and Cluster routing still sees them all.
   */
  readonly numberOfKeys: number;
  /** True for a `<name>-n.lua` script, whose key count is given per call. @default false */
  readonly variadicKeys?: boolean;
  readonly lua: string;
}

export type ScriptArg = string | number | Buffer;

export interface ScriptRunner {
  /** Run a script; replies come back as strings/numbers/arrays. */
  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown>;
  /** Run a script whose reply holds binary data: bulk strings come back as Buffers. */
  runBuffer(
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ): Promise<unknown>;
  /** The ioredis command name a script is registered under. */
  commandName(script: LuaScript): string;
}

type ScriptCommand = (...args: ScriptArg[]) => Promise<unknown>;

const defined = new WeakMap<RedisClient, Set<string>>();

/**
 * A runner for one package's scripts on one client. `namespace` is e.g. `keel:rl`, `version`
 * the package version; scripts are defined on first use, once per client.
 */
export function createScriptRunner(
  client: RedisClient,
  namespace: string,
  version: string,
): ScriptRunner {
  const commandName = (script: LuaScript) => `${namespace}:${script.name}:${version}`;
  // Bound ioredis methods by script, so the hot path is one Map lookup.
  const bound = new Map<LuaScript, { plain: ScriptCommand; buffer: ScriptCommand }>();

  function command(script: LuaScript, buffer: boolean): ScriptCommand {
    const known = bound.get(script);
    if (known) return buffer ? known.buffer : known.plain;
    const name = commandName(script);
    let names = defined.get(client);
    if (!names) {
      names = new Set();
      defined.set(client, names);
    }
    if (!names.has(name)) {
      // Without `numberOfKeys`, ioredis takes the key count as the first argument of each call.
      client.defineCommand(
        name,
        script.variadicKeys
          ? { lua: script.lua }
          : { numberOfKeys: script.numberOfKeys, lua: script.lua },
      );
      names.add(name);
    }
    const methods = client as unknown as Record<string, ScriptCommand>;
    const plain = methods[name];
    const binary = methods[`${name}Buffer`];
    if (typeof plain !== 'function' || typeof binary !== 'function') {
      throw new Error(`ioredis did not define command ${name}`);
    }
    const entry = { plain: plain.bind(client), buffer: binary.bind(client) };
    bound.set(script, entry);
    return buffer ? entry.buffer : entry.plain;
  }

  const call = (
    buffer: boolean,
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
  ) => {
    if (!script.variadicKeys) return command(script, buffer)(...keys, ...args);
    if (keys.length < script.numberOfKeys) {
      throw new Error(
        `script ${script.name} takes at least ${script.numberOfKeys} keys, got ${keys.length}`,
      );
    }
    return command(script, buffer)(keys.length, ...keys, ...args);
  };

  return {
    commandName,
    run: (script, keys, args) => call(false, script, keys, args),
    runBuffer: (script, keys, args) => call(true, script, keys, args),
  };
}
