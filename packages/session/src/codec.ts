/**
 * Payload encoding: connect-redis's JSON by default, optionally compressed above a size and/or
 * encrypted with AES-256-GCM at rest, with key rotation.
 *
 * Without compression or encryption the payload is the serializer's text — plain JSON by
 * default, byte for byte what connect-redis writes. With either, it is Keel's envelope:
 *
 * ```
 * 0x00 'K' 0x01 | flags (1 = deflate, 2 = AES-256-GCM) | [keyIdLength keyId iv(12) tag(16)] | body
 * ```
 *
 * The leading NUL never starts JSON text, so plain payloads written before encryption was turned
 * on (or by connect-redis) still read, and the next write encrypts them. The GCM additional data
 * binds each ciphertext to its header and its session id: a payload copied onto another
 * session's key does not decrypt. A payload that does not decode is reported, never thrown: it
 * is treated as "no session".
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { KeelOptionError, validatorFor } from '@keel/core';

/** connect-redis's serializer contract: `JSON` by default. */
export interface SessionSerializer {
  parse(text: string): unknown;
  stringify(value: unknown): string;
}

export interface CompressionOptions {
  /** Payloads at least this large (serialized, bytes) are deflated. @default 1024 */
  thresholdBytes?: number;
  /** zlib level, 1 (fast) to 9 (small). @default 6 */
  level?: number;
}

export interface EncryptionOptions {
  /**
   * Keys by id: 32 bytes each, as a Buffer or a base64/base64url/hex string. Keep old keys here
   * after a rotation until every session written with them has expired.
   */
  keys: Readonly<Record<string, Buffer | string>>;
  /** Id of the key new payloads are encrypted with (at most 64 characters). */
  currentKeyId: string;
  /**
   * Read unencrypted payloads (written before encryption was enabled, or by connect-redis). Turn
   * off once every session is encrypted, so a payload planted in Redis is never trusted.
   * @default true
   */
  acceptPlaintext?: boolean;
}

/** Why a payload could not be decoded. */
export type DecodeFailure =
  | 'parse'
  | 'shape'
  | 'format'
  | 'decompress'
  | 'unknown-key'
  | 'decrypt'
  | 'plaintext-refused';

export type DecodeResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: DecodeFailure };

export interface SessionCodec {
  /** Plain JSON with the default serializer: the Lua field merge can work on it. */
  readonly mergeable: boolean;
  encode(id: string, value: unknown): Buffer | string;
  /** Encode text the repository already serialized (the JSON it built field by field). */
  encodeText(id: string, text: string): Buffer | string;
  decode(id: string, payload: Buffer): DecodeResult;
}

export interface CodecOptions {
  serializer?: SessionSerializer | undefined;
  compression?: boolean | CompressionOptions | undefined;
  encryption?: EncryptionOptions | undefined;
}

const MAGIC = Buffer.from([0x00, 0x4b, 0x01]);
const FLAG_DEFLATE = 1;
const FLAG_GCM = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Keys by id, and the one new payloads are sealed with. */
interface Keyring {
  keys: Map<string, Buffer>;
  currentKeyId: string;
}

/** The codec's options, validated: compression above `thresholdBytes`, encryption with `keyring`. */
interface CodecConfig {
  serializer: SessionSerializer;
  compression: { thresholdBytes: number; level: number } | undefined;
  keyring: Keyring | undefined;
  acceptPlaintext: boolean;
}

export function createCodec(options: CodecOptions = {}, component = 'session'): SessionCodec {
  return new EnvelopeCodec(parseCodecOptions(options, component));
}

function parseCodecOptions(options: CodecOptions, component: string): CodecConfig {
  const v = validatorFor(component);
  const serializer = options.serializer ?? JSON;
  if (typeof serializer.parse !== 'function' || typeof serializer.stringify !== 'function') {
    throw v.fail('serializer', serializer, 'an object with parse() and stringify()');
  }
  const given =
    options.compression === undefined || options.compression === false
      ? undefined
      : options.compression === true
        ? {}
        : options.compression;
  const compression = given && {
    thresholdBytes: v.nonNegativeInteger(
      'compression.thresholdBytes',
      given.thresholdBytes,
      1024,
      'bytes',
    ),
    level: v.integerInRange('compression.level', given.level, 6, 1, 9),
  };
  const keyring = options.encryption && loadKeys(options.encryption);
  const acceptPlaintext = options.encryption?.acceptPlaintext ?? true;
  return { serializer, compression, keyring, acceptPlaintext };
}

/** Plain text, or Keel's envelope (see the top of this file). */
class EnvelopeCodec implements SessionCodec {
  readonly mergeable: boolean;
  readonly #config: CodecConfig;
  /** Neither compression nor encryption: payloads are the serializer's text. */
  readonly #plain: boolean;

  constructor(config: CodecConfig) {
    this.#config = config;
    this.#plain = !config.compression && !config.keyring;
    this.mergeable = this.#plain && config.serializer === JSON;
  }

  // Arrow properties: the repository may hand these around detached from the codec.
  readonly encode = (id: string, value: unknown): Buffer | string =>
    this.encodeText(id, this.#config.serializer.stringify(value));

  readonly encodeText = (id: string, text: string): Buffer | string => {
    if (this.#plain) return text;
    const { compression, keyring } = this.#config;
    let body = Buffer.from(text, 'utf8');
    let flags = 0;
    if (compression && body.length >= compression.thresholdBytes) {
      body = deflateRawSync(body, { level: compression.level });
      flags |= FLAG_DEFLATE;
    }
    if (!keyring) {
      if (flags === 0) return text;
      return Buffer.concat([MAGIC, Buffer.from([flags]), body]);
    }
    return seal(keyring, id, flags | FLAG_GCM, body);
  };

  readonly decode = (id: string, payload: Buffer): DecodeResult => {
    const { keyring, acceptPlaintext } = this.#config;
    const refused = keyring !== undefined && !acceptPlaintext;
    if (payload.length < 4 || payload[0] !== 0x00 || payload[1] !== 0x4b) {
      if (refused) return { ok: false, reason: 'plaintext-refused' };
      return this.#parseText(payload.toString('utf8'));
    }
    if (payload[2] !== 0x01) return { ok: false, reason: 'format' };
    const flags = payload[3]!;
    let body: Buffer;
    if (flags & FLAG_GCM) {
      const opened = open(keyring, id, payload);
      if (typeof opened === 'string') return { ok: false, reason: opened };
      body = opened;
    } else {
      if (refused) return { ok: false, reason: 'plaintext-refused' };
      body = payload.subarray(4);
    }
    if (flags & FLAG_DEFLATE) {
      try {
        body = inflateRawSync(body);
      } catch {
        return { ok: false, reason: 'decompress' };
      }
    }
    return this.#parseText(body.toString('utf8'));
  };

  #parseText(text: string): DecodeResult {
    let value: unknown;
    try {
      value = this.#config.serializer.parse(text);
    } catch {
      return { ok: false, reason: 'parse' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, reason: 'shape' };
    }
    return { ok: true, value: value as Record<string, unknown> };
  }
}

/** Encrypt `body` with the current key; the header and the session id are the GCM AAD. */
function seal(keyring: Keyring, id: string, flags: number, body: Buffer): Buffer {
  const keyId = Buffer.from(keyring.currentKeyId, 'utf8');
  const header = Buffer.concat([MAGIC, Buffer.from([flags, keyId.length]), keyId]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyring.currentKeyId)!, iv);
  cipher.setAAD(Buffer.concat([header, Buffer.from(id, 'utf8')]));
  const sealed = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), sealed]);
}

/** The decrypted body of an encrypted envelope, or why it cannot be had. */
function open(
  keyring: Keyring | undefined,
  id: string,
  payload: Buffer,
): Buffer | 'format' | 'unknown-key' | 'decrypt' {
  const keyIdLength = payload[4];
  if (keyIdLength === undefined) return 'format';
  const headerEnd = 5 + keyIdLength;
  if (payload.length < headerEnd + IV_BYTES + TAG_BYTES) return 'format';
  const key = keyring?.keys.get(payload.subarray(5, headerEnd).toString('utf8'));
  if (!key) return 'unknown-key';
  const iv = payload.subarray(headerEnd, headerEnd + IV_BYTES);
  const tag = payload.subarray(headerEnd + IV_BYTES, headerEnd + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.concat([payload.subarray(0, headerEnd), Buffer.from(id, 'utf8')]));
    decipher.setAuthTag(tag);
    return Buffer.concat([
      decipher.update(payload.subarray(headerEnd + IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return 'decrypt';
  }
}

function loadKeys(options: EncryptionOptions): Keyring {
  if (typeof options !== 'object' || options === null || typeof options.keys !== 'object') {
    throw new KeelOptionError(
      'session.encryption',
      'session: option "encryption" must be { keys: { <id>: <32-byte key> }, currentKeyId }',
    );
  }
  const keys = new Map<string, Buffer>();
  for (const [id, raw] of Object.entries(options.keys)) {
    if (id.length === 0 || Buffer.byteLength(id) > 64) {
      throw new KeelOptionError(
        'session.encryption.keys',
        `session: encryption key ids must be 1-64 bytes, got ${JSON.stringify(id)}`,
      );
    }
    const key = toKey(raw);
    if (!key) {
      throw new KeelOptionError(
        `session.encryption.keys.${id}`,
        `session: encryption key "${id}" must be 32 bytes (a Buffer, or 32 bytes as base64, base64url or hex)`,
      );
    }
    keys.set(id, key);
  }
  if (!keys.has(options.currentKeyId)) {
    throw new KeelOptionError(
      'session.encryption.currentKeyId',
      `session: encryption.currentKeyId ${JSON.stringify(options.currentKeyId)} is not one of the keys (${[...keys.keys()].join(', ') || 'none'})`,
    );
  }
  return { keys, currentKeyId: options.currentKeyId };
}

function toKey(raw: Buffer | string): Buffer | undefined {
  if (Buffer.isBuffer(raw)) return raw.length === 32 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  if (/^[0-9a-f]{64}$/i.test(raw)) return Buffer.from(raw, 'hex');
  const decoded = Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64');
  return decoded.length === 32 ? decoded : undefined;
}
