/** `trustsPeer()`: whether the TCP peer's forwarded headers (X-Forwarded-Host/-Proto) count. */
import { describe, expect, it } from 'vitest';
import { quietIdentity, request } from './support.js';

describe('trustsPeer', () => {
  it('trusts no peer by default', () => {
    expect(quietIdentity().trustsPeer(request('127.0.0.1'))).toBe(false);
  });

  it('trusts a listed peer only, IPv4-mapped peers unmapped first', () => {
    const identity = quietIdentity({ trustProxy: ['loopback', '10.0.0.0/8'] });
    expect(identity.trustsPeer(request('127.0.0.1'))).toBe(true);
    expect(identity.trustsPeer(request('::ffff:10.1.2.3'))).toBe(true);
    expect(identity.trustsPeer(request('203.0.113.9'))).toBe(false);
    expect(identity.trustsPeer(request(undefined))).toBe(false);
  });

  it('trusts the peer with a hop count or `true`', () => {
    expect(quietIdentity({ trustProxy: 1 }).trustsPeer(request('203.0.113.9'))).toBe(true);
    expect(quietIdentity({ trustProxy: true }).trustsPeer(request(undefined))).toBe(true);
  });
});
