/**
 * The events @keel/session emits, added to core's {@link KeelEventMap}. Session ids never
 * appear in events (an id is a bearer credential); `idHash` is a truncated SHA-256 of it.
 */
import type { DecodeFailure } from './codec.js';

declare module '@keel/core' {
  interface KeelEventMap {
    /**
     * A stored payload did not decode (corrupt, unknown key, tampered), or decoded to a session
     * the session library cannot use (`reason: 'shape'`, `field` names the first bad field):
     * treated as no session.
     */
    'session.corrupt': { idHash: string; reason: DecodeFailure; field?: string };
    /**
     * A write was refused: the session was destroyed while the request ran (`tombstoned`: a
     * logout is not undone), or its absolute lifetime ended (`expired`).
     */
    'session.write-refused': { idHash: string; reason: 'tombstoned' | 'expired' };
    /** A compare-and-set save (encrypted/compressed payloads) met a concurrent change and retried. */
    'session.conflict': { idHash: string; attempt: number };
    /** `destroyAllForUser()` ended `destroyed` sessions of one user. */
    'session.user-logout': { userHash: string; destroyed: number };
  }
}
