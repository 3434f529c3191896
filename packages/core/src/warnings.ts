/**
 * One-shot warnings for risky but legal setups (trusting every proxy, running idempotency
 * without a scope…). Errors are for invalid configuration; these are for "this works, but
 * probably not how you think". Each warning:
 * - is emitted at most once per {@link Warnings} instance,
 * - can be disabled by name (`warnings: { trustAllProxies: false }`),
 * - goes through the events hook as `keel.warning`, and to `console.warn` unless disabled.
 */
import type { KeelEvents } from './events.js';

/** `false` turns a warning off by name; `true` turns all off or on at once. */
export type WarningSwitches = boolean | Readonly<Record<string, boolean>>;

export interface Warnings {
  /** Emit `name` once with `message`, unless it was disabled. */
  warn(name: string, message: string): void;
  /** True if `name` has not been disabled. */
  enabled(name: string): boolean;
}

export interface WarningsOptions {
  switches?: WarningSwitches | undefined;
  events?: KeelEvents | undefined;
  /** Where the text goes besides events. @default console.warn */
  log?: ((message: string) => void) | false | undefined;
}

export function createWarnings(options: WarningsOptions = {}): Warnings {
  const seen = new Set<string>();
  const { switches = true, events } = options;
  const log = options.log === undefined ? (m: string) => console.warn(m) : options.log;
  const enabled = (name: string) =>
    typeof switches === 'boolean' ? switches : switches[name] !== false;
  return {
    enabled,
    warn(name, message) {
      if (!enabled(name) || seen.has(name)) return;
      seen.add(name);
      const text = `[keel] ${message} (disable this warning with warnings: { ${name}: false })`;
      events?.emit('keel.warning', { warning: name, message: text });
      if (log) log(text);
    },
  };
}
