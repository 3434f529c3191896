/**
 * RFC 7239 `Forwarded` (https://www.rfc-editor.org/rfc/rfc7239#section-4):
 *
 *   Forwarded         = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value          ; value = token / quoted-string
 *
 * Only the `for` parameter matters for client identity. The header is parsed from the right
 * (nearest hop first) and parsing stops at the first syntax error: everything left of a broken
 * element was written by hops the walk cannot trust any more, and a client that sends
 * `Forwarded: for="1.2.3.4` (an unterminated quote) must not be able to swallow the element a
 * trusted proxy appended after it, as a left-to-right parser would let it.
 */

/**
 * The `for` values nearest first (quotes and escapes removed), at most `limit` of them.
 * `undefined` marks an element that names no client: one without `for`, with `for` twice, or
 * a syntax error (and then it is the last entry). Empty list elements are skipped.
 *
 * Leniencies, none of which can change which element a value belongs to: parameter names are
 * case-insensitive (as the RFC says), whitespace is allowed around `;`, `,` and `=`, and an
 * unquoted value may hold `[`, `]` and `:` (bracketed IPv6 that a proxy forgot to quote).
 */
export function forwardedForChain(
  value: string,
  limit = Number.POSITIVE_INFINITY,
): (string | undefined)[] {
  const entries: (string | undefined)[] = [];
  let p = value.length;
  while (entries.length < limit) {
    p = skipSpaceBack(value, p);
    if (p === 0) break;
    const element = parseElementBack(value, p);
    if (element === undefined) {
      entries.push(undefined);
      break;
    }
    p = element.start;
    if (!element.empty) entries.push(element.forValue);
  }
  return entries;
}

interface ElementBack {
  /** Index of the `,` that precedes the element, or 0. */
  start: number;
  empty: boolean;
  forValue: string | undefined;
}

/** Parse the element that ends at `end` (exclusive), moving left. `undefined` on a syntax error. */
function parseElementBack(value: string, end: number): ElementBack | undefined {
  let p = end;
  let empty = true;
  let forValue: string | undefined;
  let forCount = 0;
  for (;;) {
    p = skipSpaceBack(value, p);
    if (p === 0) break;
    const c = value.charCodeAt(p - 1);
    if (c === COMMA) {
      p--;
      break;
    }
    if (c === SEMICOLON) {
      p--;
      continue;
    }
    // value (quoted-string or token), then "=", then the parameter name
    let pairValue: string;
    if (c === QUOTE) {
      if (isEscaped(value, p - 1)) return undefined;
      const open = openingQuote(value, p - 1);
      if (open < 0) return undefined;
      pairValue = value.slice(open + 1, p - 1).replace(QUOTED_PAIR, '$1');
      p = open;
    } else {
      let start = p;
      while (start > 0 && isValueChar(value.charCodeAt(start - 1))) start--;
      if (start === p) return undefined;
      pairValue = value.slice(start, p);
      p = start;
    }
    p = skipSpaceBack(value, p);
    if (p === 0 || value.charCodeAt(p - 1) !== EQUALS) return undefined;
    p = skipSpaceBack(value, p - 1);
    let nameStart = p;
    while (nameStart > 0 && isTokenChar(value.charCodeAt(nameStart - 1))) nameStart--;
    if (nameStart === p) return undefined;
    if (p - nameStart === 3 && value.slice(nameStart, p).toLowerCase() === 'for') {
      forCount++;
      forValue = pairValue;
    }
    empty = false;
    p = skipSpaceBack(value, nameStart);
    if (p > 0) {
      const before = value.charCodeAt(p - 1);
      if (before !== SEMICOLON && before !== COMMA) return undefined;
    }
  }
  // RFC 7239 §4: a parameter MUST NOT occur more than once per element; which `for` is meant?
  if (forCount > 1) return { start: p, empty, forValue: undefined };
  return { start: p, empty, forValue };
}

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const QUOTE = 0x22;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const QUOTED_PAIR = /\\(.)/g;

/** The unescaped `"` that opens the quoted string whose closing quote is at `close`, or -1. */
function openingQuote(value: string, close: number): number {
  for (let i = close - 1; i >= 0; i--) {
    if (value.charCodeAt(i) === QUOTE && !isEscaped(value, i)) return i;
  }
  return -1;
}

/** True when the character at `i` is preceded by an odd number of backslashes (a quoted-pair). */
function isEscaped(value: string, i: number): boolean {
  let backslashes = 0;
  while (i - backslashes > 0 && value.charCodeAt(i - backslashes - 1) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

function skipSpaceBack(value: string, p: number): number {
  while (p > 0) {
    const c = value.charCodeAt(p - 1);
    if (c !== 0x20 && c !== 0x09) break;
    p--;
  }
  return p;
}

/** 1: RFC 9110 tchar; 2: also allowed in an unquoted value (`:`, `[`, `]` of a bracketed IPv6 node
 * that a proxy forgot to quote). Indexed by char code; anything >= 128 is neither. */
const CHAR_CLASS = (() => {
  const table = new Uint8Array(128);
  const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (const ch of tchars) table[ch.charCodeAt(0)] = 1;
  for (const ch of ':[]') table[ch.charCodeAt(0)] = 2;
  return table;
})();

function isTokenChar(c: number): boolean {
  return CHAR_CLASS[c] === 1;
}

function isValueChar(c: number): boolean {
  return c < 128 && CHAR_CLASS[c] !== 0;
}
