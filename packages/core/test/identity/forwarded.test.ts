import { describe, expect, it } from 'vitest';
import type { ClientIdentityOptions } from '../../src/identity/index.js';
import { quietIdentity, request } from './support.js';

function clientFrom(
  forwarded: string | string[],
  options: ClientIdentityOptions = { trustProxy: true },
): string | undefined {
  return quietIdentity({ proxyHeader: 'forwarded', ...options }).address(
    request('10.0.0.1', { forwarded }),
  );
}

describe('RFC 7239 Forwarded', () => {
  it('reads the for parameter among others', () => {
    expect(clientFrom('for=192.0.2.60;proto=http;by=203.0.113.43')).toBe('192.0.2.60');
    expect(clientFrom('proto=https;for=192.0.2.60')).toBe('192.0.2.60');
  });

  it('treats parameter names case-insensitively', () => {
    expect(clientFrom('For=192.0.2.60')).toBe('192.0.2.60');
    expect(clientFrom('FOR="192.0.2.60";PROTO=http')).toBe('192.0.2.60');
  });

  it('unquotes quoted values', () => {
    expect(clientFrom('for="192.0.2.60"')).toBe('192.0.2.60');
    expect(clientFrom('for="\\1\\9\\2.0.2.60"')).toBe('192.0.2.60');
  });

  it('strips ports, numeric and obfuscated', () => {
    expect(clientFrom('for="192.0.2.43:47011"')).toBe('192.0.2.43');
    expect(clientFrom('for="192.0.2.43:_abc"')).toBe('192.0.2.43');
    expect(clientFrom('for="[2001:db8:cafe::17]:4711"')).toBe('2001:db8:cafe::17');
  });

  it('reads bracketed IPv6, quoted or (leniently) not', () => {
    expect(clientFrom('for="[2001:db8:cafe::17]"')).toBe('2001:db8:cafe::17');
    expect(clientFrom('for=[2001:db8:cafe::17]')).toBe('2001:db8:cafe::17');
    // What `proxy_set_header Forwarded "for=$remote_addr"` sends: bare, taken as a whole.
    expect(clientFrom('for=2001:db8:cafe::17')).toBe('2001:db8:cafe::17');
  });

  it('rejects an IPv4 address in brackets and a malformed port', () => {
    expect(clientFrom('for="[192.0.2.43]"')).toBe('10.0.0.1');
    expect(clientFrom('for="192.0.2.43:port"')).toBe('10.0.0.1');
    expect(clientFrom('for="[2001:db8::1]:"')).toBe('10.0.0.1');
    expect(clientFrom('for="[2001:db8::1"')).toBe('10.0.0.1');
  });

  it('walks multiple elements nearest first', () => {
    const value = 'for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com';
    expect(clientFrom(value, { trustProxy: 1 })).toBe('198.51.100.17');
    expect(clientFrom(value, { trustProxy: 2 })).toBe('192.0.2.43');
    expect(clientFrom(value, { trustProxy: true })).toBe('192.0.2.43');
  });

  it('joins multiple header lines', () => {
    const lines = ['for=192.0.2.43', 'for=198.51.100.17'];
    expect(clientFrom(lines, { trustProxy: 1 })).toBe('198.51.100.17');
    expect(clientFrom(lines, { trustProxy: 2 })).toBe('192.0.2.43');
  });

  it('accepts whitespace around separators and skips empty elements', () => {
    const value = ' , for = 192.0.2.43 ; proto=https ,, for=198.51.100.17 ,';
    expect(clientFrom(value, { trustProxy: 1 })).toBe('198.51.100.17');
    expect(clientFrom(value, { trustProxy: 2 })).toBe('192.0.2.43');
  });

  it('keeps commas and semicolons inside quoted strings out of the structure', () => {
    const value = 'for=192.0.2.43;ext="a, for=6.6.6.6; \\"b\\", c"';
    expect(clientFrom(value, { trustProxy: 1 })).toBe('192.0.2.43');
    expect(clientFrom(value, { trustProxy: true })).toBe('192.0.2.43');
  });

  it('stops at unknown and answers the hop that reported it', () => {
    expect(clientFrom('for=unknown', { trustProxy: 1 })).toBe('10.0.0.1');
    expect(clientFrom('for=192.0.2.43, for=unknown', { trustProxy: true })).toBe('10.0.0.1');
    expect(clientFrom('for=unknown, for=198.51.100.17', { trustProxy: true })).toBe(
      '198.51.100.17',
    );
    expect(clientFrom('for="unknown:4711", for=198.51.100.17', { trustProxy: true })).toBe(
      '198.51.100.17',
    );
  });

  it('stops at obfuscated identifiers', () => {
    expect(clientFrom('for=_hidden', { trustProxy: 1 })).toBe('10.0.0.1');
    expect(clientFrom('for="_gazonk", for=198.51.100.17', { trustProxy: true })).toBe(
      '198.51.100.17',
    );
  });

  it('stops at an element without for, or with for twice', () => {
    expect(clientFrom('for=192.0.2.43, proto=https', { trustProxy: 2 })).toBe('10.0.0.1');
    expect(clientFrom('for=192.0.2.43, for=1.1.1.1;for=2.2.2.2', { trustProxy: 2 })).toBe(
      '10.0.0.1',
    );
  });

  it('stops at a syntax error and keeps what it read to the right of it', () => {
    for (const broken of ['for="192.0.2.43', 'for=192.0.2.43"', 'for', '=192.0.2.43', 'a b=c']) {
      expect(clientFrom(`${broken}, for=198.51.100.17`), broken).toBe('198.51.100.17');
      expect(clientFrom(broken, { trustProxy: 1 }), broken).toBe('10.0.0.1');
    }
  });

  it('reads only the configured header', () => {
    const headers = { forwarded: 'for=192.0.2.43', 'x-forwarded-for': '198.51.100.17' };
    const req = request('10.0.0.1', headers);
    expect(quietIdentity({ trustProxy: 1 }).address(req)).toBe('198.51.100.17');
    expect(quietIdentity({ trustProxy: 1, proxyHeader: 'forwarded' }).address(req)).toBe(
      '192.0.2.43',
    );
    expect(
      quietIdentity({ trustProxy: 1, proxyHeader: 'forwarded' }).address(
        request('10.0.0.1', { 'x-forwarded-for': '198.51.100.17' }),
      ),
    ).toBe('10.0.0.1');
  });

  it('prefers Forwarded in "both" mode and falls back to X-Forwarded-For', () => {
    const identity = quietIdentity({ trustProxy: 1, proxyHeader: 'both' });
    const both = { forwarded: 'for=192.0.2.43', 'x-forwarded-for': '198.51.100.17' };
    expect(identity.address(request('10.0.0.1', both))).toBe('192.0.2.43');
    expect(identity.address(request('10.0.0.1', { 'x-forwarded-for': '198.51.100.17' }))).toBe(
      '198.51.100.17',
    );
    const empty = { forwarded: ' , ', 'x-forwarded-for': '198.51.100.17' };
    expect(identity.address(request('10.0.0.1', empty))).toBe('198.51.100.17');
  });
});
