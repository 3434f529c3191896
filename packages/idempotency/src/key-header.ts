/**
 * The `Idempotency-Key` request header, per draft-ietf-httpapi-idempotency-key-header: an Item
 * Structured Header (RFC 9651 / RFC 8941) whose value is a String, e.g.
 * `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`. Parameters are ignored, as RFC 9651
 * asks for unknown ones.
 */
import { parseItem } from 'structured-headers';

export interface KeyRules {
  /** Longest key accepted, characters. */
  maxKeyLength: number;
  /** Also accept a bare token (`Idempotency-Key: abc-123`), as many existing clients send. */
  acceptUnquotedKeys: boolean;
}

export type ParsedKey = { ok: true; key: string } | { ok: false; reason: string };

/** Visible ASCII, inner spaces allowed: what an sf-string can carry, without edge blanks. */
const KEY_CHARACTERS = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
/**
 * The common case, `"…"` with no escapes and no parameters: the sf-string is the text between the
 * quotes (RFC 9651 §4.2.5), so the general parser is not needed.
 */
const PLAIN_SF_STRING = /^"([\x20\x21\x23-\x5b\x5d-\x7e]*)"$/;
/** A bare key, when `acceptUnquotedKeys` is on: no quotes, commas, semicolons or spaces. */
const BARE_KEY = /^[A-Za-z0-9!#$%&'*+.^_`|~:/=@-]+$/;

/** Parse and validate a header value (Node joins repeated headers with ", ", which fails here). */
export function parseIdempotencyKey(value: string, rules: KeyRules): ParsedKey {
  const trimmed = value.trim();
  let key: string;
  const plain = PLAIN_SF_STRING.exec(trimmed);
  if (plain) {
    key = plain[1] as string;
  } else if (trimmed.startsWith('"')) {
    let item: unknown;
    try {
      [item] = parseItem(trimmed);
    } catch {
      return {
        ok: false,
        reason:
          'The Idempotency-Key header must be one structured-field string (RFC 9651): a single quoted value of printable ASCII, e.g. Idempotency-Key: "4f1c0d8e-9a1b".',
      };
    }
    if (typeof item !== 'string')
      return { ok: false, reason: 'The Idempotency-Key must be a string.' };
    key = item;
  } else if (rules.acceptUnquotedKeys && BARE_KEY.test(trimmed)) {
    key = trimmed;
  } else {
    return {
      ok: false,
      reason: `The Idempotency-Key header must be a quoted string (draft-ietf-httpapi-idempotency-key-header), e.g. Idempotency-Key: "${BARE_KEY.test(trimmed) ? trimmed : '4f1c0d8e-9a1b'}".`,
    };
  }
  if (key.length === 0) return { ok: false, reason: 'The Idempotency-Key must not be empty.' };
  if (key.length > rules.maxKeyLength) {
    return {
      ok: false,
      reason: `The Idempotency-Key is ${key.length} characters long; at most ${rules.maxKeyLength} are accepted.`,
    };
  }
  if (!KEY_CHARACTERS.test(key)) {
    return {
      ok: false,
      reason: 'The Idempotency-Key must be printable ASCII and must not start or end with a space.',
    };
  }
  return { ok: true, key };
}
