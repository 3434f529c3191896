import { describe, expect, it } from 'vitest';
import { clientBehind, quietIdentity, request } from './support.js';

describe('IPv4-mapped IPv6 and zone ids', () => {
  it('unmaps the TCP peer', () => {
    const identity = quietIdentity();
    const req = request('::ffff:203.0.113.9');
    expect(identity.address(req)).toBe('203.0.113.9');
    expect(identity.key(req)).toBe('203.0.113.9');
    expect(identity.address(request('::FFFF:cb00:7109'))).toBe('203.0.113.9');
  });

  it('unmaps X-Forwarded-For entries', () => {
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '::ffff:198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '[::ffff:198.51.100.1]:80')).toBe(
      '198.51.100.1',
    );
  });

  it('unmaps Forwarded entries', () => {
    const identity = quietIdentity({ trustProxy: 1, proxyHeader: 'forwarded' });
    const req = request('10.0.0.1', { forwarded: 'for="[::ffff:198.51.100.1]:4711"' });
    expect(identity.address(req)).toBe('198.51.100.1');
  });

  it('matches a mapped peer against IPv4 trusted ranges', () => {
    expect(clientBehind({ trustProxy: ['10.0.0.0/8'] }, '::ffff:10.0.0.1', '198.51.100.1')).toBe(
      '198.51.100.1',
    );
  });

  it('drops zone ids', () => {
    expect(quietIdentity().address(request('fe80::1%eth0'))).toBe('fe80::1');
    expect(quietIdentity().address(request('fe80::1%en0.100'))).toBe('fe80::1');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', 'fe80::2%25eth0')).toBe('fe80::2');
  });

  it('answers IPv6 in RFC 5952 form', () => {
    expect(quietIdentity().address(request('2001:0DB8:0000:0000:0000:0000:0000:0001'))).toBe(
      '2001:db8::1',
    );
  });

  it('answers undefined for a peer that is not an address', () => {
    expect(quietIdentity().address(request('not-an-address'))).toBeUndefined();
    expect(quietIdentity().address(request(''))).toBeUndefined();
  });
});
