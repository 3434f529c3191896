import { describe, expect, it } from 'vitest';
import { KeelOptionError } from '../../src/errors.js';
import { ipKey, UNKNOWN_CLIENT_KEY } from '../../src/identity/index.js';
import { quietIdentity, request } from './support.js';

const keyOf = (peer: string | undefined, ipv6Subnet?: number) =>
  quietIdentity(ipv6Subnet === undefined ? {} : { ipv6Subnet }).key(request(peer));

describe('IPv6 prefix grouping', () => {
  it('gives two addresses in one /56 the same key by default', () => {
    expect(keyOf('2001:db8:ab00:12::1')).toBe('2001:db8:ab00::/56');
    expect(keyOf('2001:db8:ab00:ff:ffff:ffff:ffff:ffff')).toBe('2001:db8:ab00::/56');
  });

  it('gives addresses in different /56s different keys', () => {
    expect(keyOf('2001:db8:ab00:100::1')).toBe('2001:db8:ab00:100::/56');
    expect(keyOf('2001:db8:ab01::1')).toBe('2001:db8:ab01::/56');
  });

  it('keeps address() ungrouped', () => {
    expect(quietIdentity().address(request('2001:db8:ab00:12::1'))).toBe('2001:db8:ab00:12::1');
  });

  it('takes a configurable prefix', () => {
    expect(keyOf('2001:db8:ab00:12::1', 64)).toBe('2001:db8:ab00:12::/64');
    expect(keyOf('2001:db8:ab00:12:ffff::2', 64)).toBe('2001:db8:ab00:12::/64');
    expect(keyOf('2001:db8:ab00:13::1', 64)).toBe('2001:db8:ab00:13::/64');
    expect(keyOf('2001:db8:ab00:12::1', 32)).toBe('2001:db8::/32');
    expect(keyOf('2001:db8:abcd:12::1', 48)).toBe('2001:db8:abcd::/48');
    expect(keyOf('2001:db8:abcd:1234::1', 60)).toBe('2001:db8:abcd:1230::/60');
  });

  it('keys by the full address with 128', () => {
    expect(keyOf('2001:db8:ab00:12::1', 128)).toBe('2001:db8:ab00:12::1');
    expect(keyOf('2001:db8:ab00:12::2', 128)).toBe('2001:db8:ab00:12::2');
  });

  it('never groups IPv4, mapped or not', () => {
    expect(keyOf('203.0.113.9')).toBe('203.0.113.9');
    expect(keyOf('203.0.113.10')).toBe('203.0.113.10');
    expect(keyOf('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(keyOf('::ffff:5.6.7.8')).toBe('5.6.7.8');
    expect(keyOf('::ffff:1.2.3.4', 32)).toBe('1.2.3.4');
  });

  it('keys a request without any address as unknown', () => {
    expect(keyOf(undefined)).toBe(UNKNOWN_CLIENT_KEY);
    expect(UNKNOWN_CLIENT_KEY).toBe('unknown');
  });
});

describe('ipKey()', () => {
  it('keys addresses like the identity does', () => {
    expect(ipKey('2001:db8:ab00:12::1')).toBe('2001:db8:ab00::/56');
    expect(ipKey('2001:db8:ab00:12::1', 64)).toBe('2001:db8:ab00:12::/64');
    expect(ipKey('2001:db8:ab00:12::1%eth0', 128)).toBe('2001:db8:ab00:12::1');
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it('keeps mapped IPv4 clients distinct', () => {
    expect(ipKey('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(ipKey('::ffff:5.6.7.8')).toBe('5.6.7.8');
    expect(ipKey('::ffff:1.2.3.4')).not.toBe(ipKey('::ffff:5.6.7.8'));
  });

  it('answers undefined for text that is not an address', () => {
    for (const text of ['', 'unknown', '1.2.3', '127.1', '[2001:db8::1]', '1.2.3.4:80']) {
      expect(ipKey(text), text).toBeUndefined();
    }
  });

  it('validates the prefix length', () => {
    expect(() => ipKey('2001:db8::1', 20)).toThrow(KeelOptionError);
    expect(() => ipKey('2001:db8::1', 20)).toThrow(/ipKey: option "ipv6Subnet"/);
  });
});
