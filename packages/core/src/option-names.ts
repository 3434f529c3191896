/**
 * The option names a parser accepts, checked by the compiler against its options type. A
 * hand-kept list drifts: an option added to the interface but not to the list is rejected as
 * unknown at runtime, and a name left in the list after the option is gone is accepted and
 * ignored. A map with one `true` per key makes both a type error.
 */

/** Every key of `Options` (optional ones too) mapped to `true`, and no other key. */
export type OptionNameMap<Options> = { readonly [Name in keyof Required<Options>]: true };

/** A name of `Options`, as `knownOptions` receives it. */
export type OptionName<Options> = Extract<keyof Options, string>;

/**
 * The list for `knownOptions`, from a map that names exactly the keys of `Options`:
 * `optionNames<LockOptions>({ ttlMs: true, retry: true })`. The list keeps the map's order,
 * which is the order error messages list the known options in. Spread a base map into the
 * literal to compose option sets (`{ ...ACQUIRE, renewRatio: true }`).
 */
export function optionNames<Options>(map: OptionNameMap<Options>): readonly OptionName<Options>[] {
  // Object.keys returns string[]; the parameter's type guarantees these are the map's keys.
  return Object.keys(map) as OptionName<Options>[];
}
