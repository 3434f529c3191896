import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ipKey } from '../../src/identity/index.js';
import { quietIdentity, request } from './support.js';

/** What the identity answers for a TCP peer written as `text` (its own address parser). */
const addressOf = (text: string) => quietIdentity().address(request(text));

/** ipaddr.js's reading of eight groups: unmapped IPv4, or RFC 5952 IPv6. */
function reference(parts: number[]): string {
  const ip = new ipaddr.IPv6(parts);
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address().toString() : ip.toRFC5952String();
}

const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const mapped = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 2 })
  .map((tail) => [0, 0, 0, 0, 0, 0xffff, ...tail]);

/** Spellings of the same eight groups that RFC 4291 allows. */
function spellings(parts: number[], zeroRunStart: number, upper: boolean): string[] {
  const ip = new ipaddr.IPv6(parts);
  const hex = parts.map((p) => p.toString(16));
  const padded = parts.map((p) => p.toString(16).padStart(4, '0')).join(':');
  const out = [ip.toNormalizedString(), padded, ip.toRFC5952String()];
  // `::` over a run of zeros starting at zeroRunStart, when there is one of length >= 1.
  let end = zeroRunStart;
  while (end < 8 && parts[end] === 0) end++;
  if (end > zeroRunStart) {
    out.push(`${hex.slice(0, zeroRunStart).join(':')}::${hex.slice(end).join(':')}`);
  }
  // Dotted IPv4 tail for the last 32 bits.
  const [hi, lo] = [parts[6]!, parts[7]!];
  out.push(`${hex.slice(0, 6).join(':')}:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`);
  return upper ? out.map((s) => s.toUpperCase()) : out;
}

describe('IP address parsing', () => {
  it('reads every RFC 4291 spelling of an IPv6 address as ipaddr.js does', () => {
    fc.assert(
      fc.property(fc.oneof(groups, mapped), fc.nat(7), fc.boolean(), (parts, start, upper) => {
        const expected = reference(parts);
        for (const text of spellings(parts, start, upper)) {
          expect(addressOf(text), text).toBe(expected);
          expect(addressOf(`${text}%eth0`), text).toBe(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the IPv6 text (without dotted tails) that ipaddr.js accepts', () => {
    const unit = fc.constantFrom(...'0123456789abcdefABCDEF::::::'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1, maxLength: 24 }), (text) => {
        fc.pre(text.includes(':'));
        const ours = addressOf(text);
        const theirs = ipaddr.IPv6.isValid(text) ? ipaddr.process(text).toString() : undefined;
        expect(ours, text).toBe(theirs);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects malformed IPv6 text', () => {
    for (const text of [
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7',
      '12345::1',
      'g::1',
      '::1.2.3',
      '::1.2.3.256',
      '::ffff:01.2.3.4',
      '1:1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:6::1.2.3.4',
      '%eth0',
      '::ffff:1.2.3.4.5',
      `${'0:'.repeat(40)}1`,
    ]) {
      expect(addressOf(text), text).toBeUndefined();
      expect(ipKey(text, 128), text).toBeUndefined();
    }
  });

  it('unmaps IPv4-mapped addresses, and reads the deprecated IPv4-compatible form as its IPv4 address', () => {
    expect(addressOf('::ffff:1.2.3.4')).toBe('1.2.3.4');
    // ipaddr.js reads `::1.2.3.4` as mapped; it names the same IPv4 host either way.
    expect(addressOf('::1.2.3.4')).toBe('1.2.3.4');
  });

  it('reads IPv4 strictly', () => {
    expect(addressOf('0.0.0.0')).toBe('0.0.0.0');
    expect(addressOf('255.255.255.255')).toBe('255.255.255.255');
    for (const text of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', ' 1.2.3.4', '1.2.3.4 ', '']) {
      expect(addressOf(text), text).toBeUndefined();
    }
  });
});
