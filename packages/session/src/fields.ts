/**
 * A session as its top-level fields, each kept as the JSON text `JSON.stringify` gives it. This
 * is the unit of the lost-update-free merge: a request writes only the fields whose text
 * differs from what it loaded, and removes the ones it deleted; fields it left alone keep
 * whatever a concurrent request wrote meanwhile.
 */

/** Field name → its value as JSON text, in the object's key order. */
export type Fields = Map<string, string>;

/** The top-level fields of `value` as JSON.stringify would write them (toJSON honoured). */
export function toFields(value: object): Fields {
  const plain = (
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON(): unknown }).toJSON()
      : value
  ) as Record<string, unknown>;
  const fields: Fields = new Map();
  for (const name of Object.keys(plain)) {
    const text = JSON.stringify(plain[name]);
    // undefined, functions and symbols are left out, as JSON.stringify leaves them out.
    if (text !== undefined) fields.set(name, text);
  }
  return fields;
}

/** The JSON object text of `fields`: exactly `JSON.stringify` of the object they came from. */
export function fieldsToJson(fields: Fields): string {
  const parts: string[] = [];
  for (const [name, text] of fields) parts.push(`${JSON.stringify(name)}:${text}`);
  return `{${parts.join(',')}}`;
}

export interface FieldDiff {
  /** [name, new JSON text] of every field added or changed. */
  changed: [string, string][];
  /** Names of fields the request removed. */
  removed: string[];
}

/** What changed from `base` (as loaded) to `next` (as the request leaves it). */
export function diffFields(base: Fields, next: Fields): FieldDiff {
  const changed: [string, string][] = [];
  const removed: string[] = [];
  for (const [name, text] of next) if (base.get(name) !== text) changed.push([name, text]);
  for (const name of base.keys()) if (!next.has(name)) removed.push(name);
  return { changed, removed };
}

/** Apply a diff to a decoded session (the compare-and-set retry and the memory store). */
export function applyDiff(
  current: Record<string, unknown>,
  diff: { changed: readonly (readonly [string, string])[]; removed: readonly string[] },
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const name of diff.removed) delete next[name];
  for (const [name, text] of diff.changed) {
    // defineProperty, not assignment: a field named "__proto__" must stay a plain field.
    Object.defineProperty(next, name, {
      value: JSON.parse(text),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return next;
}

/**
 * The top-level members of a JSON object text as [name token, value text] pairs, without
 * decoding them; undefined when the text is not a JSON object. A transliteration of the
 * `members()` function of `scripts/session-merge-3.lua` (the memory storage merges with it, and
 * a test checks the two agree).
 */
export function splitMembers(text: string): [string, string][] | undefined {
  const out: [string, string][] = [];
  const nonSpace = (from: number) => {
    for (let i = from; i < text.length; i++) if (!/\s/.test(text[i]!)) return i;
    return -1;
  };
  const stringEnd = (start: number) => {
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === '"') return i;
    }
    return -1;
  };
  const valueEnd = (start: number): number => {
    const c = text[start];
    if (c === '"') return stringEnd(start);
    if (c === '{' || c === '[') {
      let depth = 0;
      for (let i = start; i < text.length; i++) {
        const ch = text[i];
        if (ch === '"') {
          i = stringEnd(i);
          if (i < 0) return -1;
        } else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          depth--;
          if (depth === 0) return i;
        }
      }
      return -1;
    }
    const match = /[,}\]\s]/.exec(text.slice(start));
    if (!match || match.index === 0) return -1;
    return start + match.index - 1;
  };
  const open = nonSpace(0);
  if (open < 0 || text[open] !== '{') return undefined;
  let s = nonSpace(open + 1);
  if (s >= 0 && text[s] === '}') return out;
  while (s >= 0) {
    if (text[s] !== '"') return undefined;
    const e = stringEnd(s);
    if (e < 0) return undefined;
    const colon = nonSpace(e + 1);
    if (colon < 0 || text[colon] !== ':') return undefined;
    const v = nonSpace(colon + 1);
    const ve = v < 0 ? -1 : valueEnd(v);
    if (ve < 0) return undefined;
    out.push([text.slice(s, e + 1), text.slice(v, ve + 1)]);
    const sep = nonSpace(ve + 1);
    if (sep < 0) return undefined;
    if (text[sep] === '}') return out;
    if (text[sep] !== ',') return undefined;
    s = nonSpace(sep + 1);
  }
  return undefined;
}

/**
 * Merge field changes into a JSON object text the way `session-merge-3.lua` does: members in
 * their stored order with untouched values byte for byte, changed ones replaced, removed ones
 * dropped, new ones appended. Names are JSON string tokens. Undefined when not a JSON object.
 */
export function mergeJsonText(
  text: string,
  changed: readonly (readonly [string, string])[],
  removed: readonly string[],
): string | undefined {
  const stored = splitMembers(text);
  if (!stored) return undefined;
  const changes = new Map(changed);
  const gone = new Set(removed);
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const [name, value] of stored) {
    seen.add(name);
    if (!gone.has(name)) parts.push(`${name}:${changes.get(name) ?? value}`);
  }
  for (const [name, value] of changed) if (!seen.has(name)) parts.push(`${name}:${value}`);
  return `{${parts.join(',')}}`;
}
