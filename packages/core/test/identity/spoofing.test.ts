import { describe, expect, it } from 'vitest';
import { clientBehind, quietIdentity, request } from './support.js';

describe('spoofed proxy headers', () => {
  it('ignores X-Forwarded-For by default', () => {
    expect(clientBehind({}, '203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
    expect(clientBehind({ trustProxy: false }, '203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
  });

  it('ignores Forwarded by default, whatever proxyHeader says', () => {
    const identity = quietIdentity({ proxyHeader: 'forwarded' });
    expect(identity.address(request('203.0.113.9', { forwarded: 'for=1.2.3.4' }))).toBe(
      '203.0.113.9',
    );
  });

  it('ignores headers from a peer outside the trusted list', () => {
    expect(clientBehind({ trustProxy: 'loopback' }, '203.0.113.9', '1.2.3.4, 127.0.0.1')).toBe(
      '203.0.113.9',
    );
  });

  it('uses what the trusted proxy appended, not what the client sent', () => {
    // The client sent "1.2.3.4"; the proxy (10.0.0.1) appended the real address.
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '1.2.3.4, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientBehind({ trustProxy: ['10.0.0.0/8'] }, '10.0.0.1', '1.2.3.4, 203.0.113.9')).toBe(
      '203.0.113.9',
    );
  });

  it('cannot be made to claim a trusted address from the outside', () => {
    // The client claims to be an internal proxy; its real address is untrusted, so the walk
    // stops there before reaching the claim.
    expect(clientBehind({ trustProxy: ['10.0.0.0/8'] }, '10.0.0.1', '10.0.0.2, 203.0.113.9')).toBe(
      '203.0.113.9',
    );
  });

  it('does not let a broken Forwarded value swallow the element the proxy appended', () => {
    for (const trustProxy of [1, true, ['10.0.0.0/8']]) {
      const identity = quietIdentity({ trustProxy, proxyHeader: 'forwarded' });
      for (const sent of ['for="1.2.3.4', 'for=1.2.3.4"', 'for="x\\"', '"', ';=;', 'for']) {
        const forwarded = `${sent}, for=203.0.113.9`;
        expect(identity.address(request('10.0.0.1', { forwarded })), sent).toBe('203.0.113.9');
        const lines = [sent, 'for=203.0.113.9'];
        expect(identity.address(request('10.0.0.1', { forwarded: lines })), sent).toBe(
          '203.0.113.9',
        );
      }
    }
  });

  it('prefers a client-sent Forwarded in "both" mode (why that mode needs a proxy that writes it)', () => {
    const identity = quietIdentity({ trustProxy: 1, proxyHeader: 'both' });
    const req = request('10.0.0.1', { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=1.2.3.4' });
    expect(identity.address(req)).toBe('1.2.3.4');
  });
});
