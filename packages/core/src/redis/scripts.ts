/**
 * Lua scripts run through the client seam (`seam.ts`), which sends EVALSHA and falls back to
 * EVAL (loading the script) only when the server answers NOSCRIPT — after a restart or a
 * `SCRIPT FLUSH`: ioredis `defineCommand` on ioredis and iovalkey, the same by hand on
 * node-redis. There is no hand-kept SHA table to keep in sync.
 *
 * Command names are namespaced and versioned (`keel:rl:gcra-consume:0.1.0`), so two libraries,
 * or two Keel versions, sharing the application's client never overwrite each other's scripts.
 *
 * Every script runs behind a guard: the runner appends the caller's deadline, on the server's
 * clock, as the last argument, and a script that starts after it returns the `KEELABANDONED`
 * error and does nothing. A call Keel gave up on (Redis stalled, a long queue, a late reconnect)
 * thus leaves no trace when Redis finally runs it — the guarantee every feature relies on for
 * "a 503 left nothing behind" and "the fallback counted it once".
 */
import {
  type AnyRedisClient,
  type KeelRedisClient,
  keelClient,
  type ScriptArg,
  type ScriptCommand,
  type ScriptDefinition,
} from './seam.js';
import { localNow, type ServerClock, serverClockOf } from './server-clock.js';
import { ABANDONED_REPLY } from './store-errors.js';

/**
 * Prepended to every script. It takes the last ARGV off (so the script sees exactly the
 * arguments it declares), reads the server clock once (`keelTime`, the `TIME` reply, and
 * `keelNow`, whole ms since the epoch: scripts use these instead of a `TIME` of their own, one
 * clock read and one string-to-number conversion per call), and refuses to start after the
 * deadline, the last whole server millisecond it may start in; 0 means "no deadline".
 */
export const GUARD_LUA = `-- Keel call guard: the last ARGV is the caller's deadline, server ms since the epoch (0 = none)
local keelArgs = #ARGV
local keelNotAfter = tonumber(ARGV[keelArgs])
ARGV[keelArgs] = nil
local keelTime = redis.call('TIME')
local keelNow = keelTime[1] * 1000 + math.floor(keelTime[2] / 1000)
if keelNotAfter > 0 and keelNow > keelNotAfter then
  return redis.error_reply('${ABANDONED_REPLY} the caller gave up before this call started')
end
`;

/** The deadline of one store call: the latest local moment (ms since the epoch) a script may start. */
export interface StoreAttempt {
  readonly notAfterMs: number;
  /**
   * Set when the call is an acknowledged write of a store configured with `waitForReplicas`:
   * the runner pipelines `WAIT` right after the script, on the same connection, and reports
   * through {@link StoreAttempt.replicated} how many replicas confirmed it.
   */
  readonly replicas?: ReplicaWait;
  /** Receives the `WAIT` reply of a durable write (see {@link StoreAttempt.replicas}). */
  replicated?(acknowledged: number): void;
  /**
   * `false` for a script whose late run does no harm and must run whenever Redis gets to it
   * (each such call says why): no deadline guard, but still `WAIT` when durable. @default true
   */
  readonly guard?: boolean;
}

/** How a durable write waits for replicas: `WAIT <replicas> <timeout>`. */
export interface ReplicaWait {
  /** Replicas that must confirm the write. */
  readonly replicas: number;
  /** Longest wait, ms; never past the call's deadline. */
  readonly timeoutMs: number;
}

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

export type { ScriptArg } from './seam.js';

export interface ScriptRunner {
  /**
   * Run a script; replies come back as strings/numbers/arrays. Pass the store call's `attempt`
   * so the script does nothing if it starts after the caller gave up.
   */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
    attempt?: StoreAttempt,
  ): Promise<unknown>;
  /** Run a script whose reply holds binary data: bulk strings come back as Buffers. */
  runBuffer(
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
    attempt?: StoreAttempt,
  ): Promise<unknown>;
  /** The versioned name a script is registered under (an ioredis command name). */
  commandName(script: LuaScript): string;
}

const guarded = (attempt: StoreAttempt | undefined): attempt is StoreAttempt =>
  attempt !== undefined && attempt.guard !== false;

/**
 * A runner for one package's scripts on one client. `namespace` is e.g. `keel:rl`, `version`
 * the package version; scripts are defined on first use, once per client.
 */
export function createScriptRunner(
  native: AnyRedisClient,
  namespace: string,
  version: string,
): ScriptRunner {
  return new ClientScriptRunner(keelClient(native), namespace, version);
}

/** The seam's two script functions of one script: plain replies and Buffer replies. */
interface BoundScript {
  readonly plain: ScriptCommand;
  readonly buffer: ScriptCommand;
}

class ClientScriptRunner implements ScriptRunner {
  private readonly clock: ServerClock;
  // The seam's script functions by script, so the hot path is one Map lookup.
  private readonly bound = new Map<LuaScript, BoundScript>();
  private readonly definitions = new Map<LuaScript, ScriptDefinition>();

  constructor(
    private readonly client: KeelRedisClient,
    private readonly namespace: string,
    private readonly version: string,
  ) {
    this.clock = serverClockOf(client);
  }

  // Arrow properties, as the object this replaced had: callers may pass these around unbound.
  readonly commandName = (script: LuaScript): string =>
    `${this.namespace}:${script.name}:${this.version}`;

  readonly run: ScriptRunner['run'] = (script, keys, args, attempt) =>
    this.call(false, script, keys, args, attempt);

  readonly runBuffer: ScriptRunner['runBuffer'] = (script, keys, args, attempt) =>
    this.call(true, script, keys, args, attempt);

  private call(
    buffer: boolean,
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
    attempt: StoreAttempt | undefined,
  ): Promise<unknown> {
    // The first guarded call on a client measures the server clock (one TIME, once).
    const syncing = guarded(attempt) ? this.clock.ready() : undefined;
    if (syncing) return syncing.then(() => this.send(buffer, script, keys, args, attempt));
    return this.send(buffer, script, keys, args, attempt);
  }

  private send(
    buffer: boolean,
    script: LuaScript,
    keys: readonly string[],
    args: readonly ScriptArg[],
    attempt: StoreAttempt | undefined,
  ): Promise<unknown> {
    const notAfter = guarded(attempt) ? this.clock.toServerMs(attempt.notAfterMs) : 0;
    if (script.variadicKeys && keys.length < script.numberOfKeys) {
      throw new Error(
        `script ${script.name} takes at least ${script.numberOfKeys} keys, got ${keys.length}`,
      );
    }
    const argv = script.variadicKeys
      ? [keys.length, ...keys, ...args, notAfter]
      : [...keys, ...args, notAfter];
    if (attempt?.replicas) return this.sendDurable(script, buffer, argv, attempt, attempt.replicas);
    return this.command(script, buffer)(...argv);
  }

  /**
   * The script and `WAIT` in one pipeline: one round trip, and the same connection (on a
   * Cluster, the node owning the keys' slot), which is what WAIT's answer is about — the
   * writes this connection sent before it. WAIT cannot run inside a script. (One gap: after a
   * `SCRIPT FLUSH` on a live connection, ioredis re-sends the script after NOSCRIPT, behind the
   * WAIT. A reconnect or failover never does this: a new connection sends the script in full.)
   */
  private async sendDurable(
    script: LuaScript,
    buffer: boolean,
    argv: ScriptArg[],
    attempt: StoreAttempt,
    wait: ReplicaWait,
  ): Promise<unknown> {
    // WAIT 0 would block for good: at least 1 ms, and never past the call's deadline.
    const timeoutMs = Math.max(
      1,
      Math.min(wait.timeoutMs, Math.floor(attempt.notAfterMs - localNow())),
    );
    const { reply, acknowledged } = await this.client.scriptThenWait(
      this.definitionOf(script),
      buffer,
      argv,
      wait.replicas,
      timeoutMs,
    );
    attempt.replicated?.(acknowledged);
    return reply;
  }

  private command(script: LuaScript, buffer: boolean): ScriptCommand {
    const known = this.bound.get(script);
    if (known) return buffer ? known.buffer : known.plain;
    const definition = this.definitionOf(script);
    const entry = {
      plain: this.client.script(definition, false),
      buffer: this.client.script(definition, true),
    };
    this.bound.set(script, entry);
    return buffer ? entry.buffer : entry.plain;
  }

  private definitionOf(script: LuaScript): ScriptDefinition {
    let definition = this.definitions.get(script);
    if (!definition) {
      // Without `numberOfKeys`, each call's first argument is its key count.
      definition = {
        name: this.commandName(script),
        lua: GUARD_LUA + script.lua,
        numberOfKeys: script.variadicKeys ? undefined : script.numberOfKeys,
      };
      this.definitions.set(script, definition);
    }
    return definition;
  }
}
