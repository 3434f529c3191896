/**
 * Lua scripts registered with ioredis `defineCommand`, which sends EVALSHA and falls back to
 * EVAL (loading the script) only when the server answers NOSCRIPT — after a restart or a
 * `SCRIPT FLUSH`. There is no hand-kept SHA table to keep in sync.
 *
 * Command names are namespaced and versioned (`keel:rl:gcra-consume:0.1.0`), so two libraries,
 * or two Keel versions, sharing the application's client never overwrite each other's scripts.
 */
import type { RedisClient } from './client.js';

/** A script as `scripts/gen-lua.ts` generates it from `src/scripts/<name>-<keys>.lua`. */
export interface LuaScript {
  /** Kebab-case name without the key count, e.g. `gcra-consume`. */
  readonly name: string;
  readonly numberOfKeys: number;
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

  function command(script: LuaScript, buffer: boolean): ScriptCommand {
    const name = commandName(script);
    let names = defined.get(client);
    if (!names) {
      names = new Set();
      defined.set(client, names);
    }
    if (!names.has(name)) {
      client.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
      names.add(name);
    }
    const method = (client as unknown as Record<string, ScriptCommand>)[
      buffer ? `${name}Buffer` : name
    ];
    if (typeof method !== 'function') throw new Error(`ioredis did not define command ${name}`);
    return method.bind(client);
  }

  return {
    commandName,
    run: (script, keys, args) => command(script, false)(...keys, ...args),
    runBuffer: (script, keys, args) => command(script, true)(...keys, ...args),
  };
}
