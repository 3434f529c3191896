/**
 * Bytes a memory store keeps, and what keeping them really costs.
 *
 * A small Buffer is usually a view on a larger block: Node hands out allocations under 4 KiB
 * (`Buffer.from`, `Buffer.concat`, `allocUnsafe`) as slices of a shared 8 KiB pool slab, and a
 * Redis reply parsed by ioredis is a slice of the socket's read chunk (up to 64 KiB). Keeping such
 * a view keeps the whole block alive: a store that counted `length` held 2–3.5× its bound. So a
 * store keeps an exact-size copy in memory of its own, and counts what it keeps.
 */

/** A copy of `bytes` in an ArrayBuffer of exactly its length (never a pool slab). */
export function exactCopy(bytes: Uint8Array): Buffer {
  // allocUnsafeSlow never takes from the pool; every byte is overwritten at once.
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * `chunks` joined into one ArrayBuffer of exactly `total` bytes — what `Buffer.concat` does, but
 * never into a pool slab, so a stored response keeps only its own bytes alive.
 */
export function concatExact(chunks: readonly Uint8Array[], total: number): Buffer {
  const joined = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.byteLength, total - offset);
    joined.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), offset);
    offset += take;
  }
  // As Buffer.concat: bytes beyond the chunks (a total larger than them) are zeroed.
  if (offset < total) joined.fill(0, offset);
  return joined;
}

/** The UTF-8 bytes of `text` in an ArrayBuffer of exactly their length. */
export function exactUtf8(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text, 'utf8');
  return bytes;
}

/** True when `bytes` spans the whole of its ArrayBuffer (keeping it keeps nothing more). */
export function ownsItsMemory(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/**
 * `bytes` as a Buffer that keeps nothing beyond its own length alive: itself when it already
 * spans its whole ArrayBuffer, otherwise an exact copy. For bytes that nobody else writes to
 * (a response this request produced, a reply just read); a store that must not share a caller's
 * buffer copies with {@link exactCopy}.
 */
export function retainable(bytes: Uint8Array): Buffer {
  if (!ownsItsMemory(bytes)) return exactCopy(bytes);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, 0, bytes.byteLength);
}

/**
 * Heap bytes a memory store keeps per item besides its body and strings: the map slot, the
 * expiry record, the store's own record object, the Buffer and ArrayBuffer objects. Measured on
 * Node 20 after GC at 500–800 bytes depending on the store (`bench/memory-retention.ts`, and
 * `heapUsed` growth per item of each store); the upper end, so a bound errs on the safe side.
 */
export const ENTRY_OVERHEAD_BYTES = 768;

/**
 * `text`, flattened: a string built by concatenation is a rope of many small nodes in V8 (one
 * `crypto.randomUUID()` is ~20 of them: ~500 bytes of heap for 36 characters, 74 once flat).
 * Reading a character makes V8 flatten it in place, so a string a store keeps costly costs what
 * its characters do.
 */
export function flatString(text: string): string {
  if (text.length > 0) text.charCodeAt(0);
  return text;
}

/** Bytes a string keeps on the heap: V8 stores it one byte per character, or two if it must. */
export function stringBytes(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is for anything above Latin-1
  return /[^\u0000-\u00ff]/.test(text) ? text.length * 2 : text.length;
}
