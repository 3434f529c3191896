/**
 * Passwords and bearer tokens. A token is `v1.<payload>.<signature>`: the payload is base64url
 * JSON `{ sub, exp }`, the signature an HMAC-SHA256 over `v1.<payload>`. Stateless on purpose —
 * the sessions feature will replace it with server-side sessions (revocable, with a user index).
 * Framework-agnostic: the Express and Koa examples keep identical copies.
 */
import { createHmac, scrypt, timingSafeEqual } from 'node:crypto';
import type { Data, User } from './data.js';

export interface TokenSigner {
  /** A token for `username`, valid for the signer's TTL. */
  sign(username: string): { token: string; expiresAt: string };
  /** The username of a valid, unexpired token; undefined for anything else. */
  verify(token: string): string | undefined;
}

export interface TokenSignerOptions {
  /** HMAC key: at least 32 bytes of secret. */
  secret: string | Buffer;
  /** @default 3_600_000 (one hour) */
  ttlMs?: number;
  /** Injectable clock for tests, ms since the epoch. @default Date.now */
  now?: () => number;
}

const VERSION = 'v1';

export function createTokenSigner(options: TokenSignerOptions): TokenSigner {
  const key = Buffer.from(options.secret);
  if (key.length < 32) throw new Error('token secret must be at least 32 bytes');
  const ttlMs = options.ttlMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  const mac = (data: string) => createHmac('sha256', key).update(data).digest();

  return {
    sign(username) {
      const exp = now() + ttlMs;
      const payload = Buffer.from(JSON.stringify({ sub: username, exp })).toString('base64url');
      const signed = `${VERSION}.${payload}`;
      return {
        token: `${signed}.${mac(signed).toString('base64url')}`,
        expiresAt: new Date(exp).toISOString(),
      };
    },

    verify(token) {
      const [version, payload, signature, ...rest] = token.split('.');
      if (version !== VERSION || !payload || !signature || rest.length > 0) return undefined;
      const expected = mac(`${version}.${payload}`);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
          sub?: unknown;
          exp?: unknown;
        };
        if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
        return claims.exp > now() ? claims.sub : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The user whose password this is, or undefined. Unknown users cost the same scrypt as known
 * ones, so response time does not reveal which usernames exist.
 */
export async function checkPassword(
  data: Data,
  username: string,
  password: string,
): Promise<User | undefined> {
  const user = await data.findUser(username);
  const salt = user?.salt ?? DUMMY_SALT;
  const hash = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, (error, derived) => (error ? reject(error) : resolve(derived))),
  );
  return user && timingSafeEqual(hash, user.passwordHash) ? user : undefined;
}

const DUMMY_SALT = Buffer.alloc(16);
