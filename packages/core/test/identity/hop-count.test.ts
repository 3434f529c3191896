import { describe, expect, it } from 'vitest';
import { clientBehind, quietIdentity, request } from './support.js';

describe('trustProxy as a hop count', () => {
  const xff = '198.51.100.1, 198.51.100.2, 198.51.100.3';

  it('trusts exactly n hops, the TCP peer being the first', () => {
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', xff)).toBe('198.51.100.3');
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1', xff)).toBe('198.51.100.2');
    expect(clientBehind({ trustProxy: 3 }, '10.0.0.1', xff)).toBe('198.51.100.1');
  });

  it('answers the left-most address when the chain is shorter than n', () => {
    expect(clientBehind({ trustProxy: 10 }, '10.0.0.1', xff)).toBe('198.51.100.1');
  });

  it('answers the peer when there is no X-Forwarded-For', () => {
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1')).toBe('10.0.0.1');
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1', '  ')).toBe('10.0.0.1');
  });

  it('joins repeated header lines with commas', () => {
    const lines = ['198.51.100.1, 198.51.100.2', '198.51.100.3'];
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', lines)).toBe('198.51.100.3');
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1', lines)).toBe('198.51.100.2');
  });

  it('skips empty list elements', () => {
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1', '198.51.100.1,, 198.51.100.2 ,')).toBe(
      '198.51.100.1',
    );
  });

  it('takes the left-most entry when every hop is trusted (true)', () => {
    expect(clientBehind({ trustProxy: true }, '10.0.0.1', xff)).toBe('198.51.100.1');
    expect(clientBehind({ trustProxy: true }, '10.0.0.1')).toBe('10.0.0.1');
  });

  it('counts a peer without an address (Unix socket) as a hop', () => {
    expect(clientBehind({ trustProxy: 1 }, undefined, xff)).toBe('198.51.100.3');
    expect(clientBehind({ trustProxy: true }, undefined, xff)).toBe('198.51.100.1');
    expect(clientBehind({ trustProxy: 1 }, undefined)).toBeUndefined();
  });

  it('accepts ports and brackets that some proxies add', () => {
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '198.51.100.1:52311')).toBe('198.51.100.1');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '[2001:db8::1]')).toBe('2001:db8::1');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', '2001:db8::1')).toBe('2001:db8::1');
  });

  it('stops at a malformed entry and answers the hop that reported it', () => {
    // Nearest first: 198.51.100.3 (trusted hop 2), then garbage where hop 3 should be.
    const chain = '198.51.100.1, not-an-ip, 198.51.100.3';
    expect(clientBehind({ trustProxy: 3 }, '10.0.0.1', chain)).toBe('198.51.100.3');
    expect(clientBehind({ trustProxy: 2 }, '10.0.0.1', chain)).toBe('198.51.100.3');
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', 'not-an-ip')).toBe('10.0.0.1');
    expect(clientBehind({ trustProxy: true }, '10.0.0.1', 'junk, 198.51.100.9')).toBe(
      '198.51.100.9',
    );
  });

  it('treats legacy IPv4 spellings as malformed, not as another address', () => {
    for (const legacy of [
      '127.1',
      '0x7f.0.0.1',
      '017.0.0.1',
      '2130706433',
      '1.2.3.256',
      '1.2.3.4:',
    ]) {
      expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', legacy), legacy).toBe('10.0.0.1');
    }
  });

  it('reads only as many entries as it trusts hops', () => {
    const long = `${Array.from({ length: 500 }, (_, i) => `junk${i}`).join(', ')}, 198.51.100.7`;
    expect(clientBehind({ trustProxy: 1 }, '10.0.0.1', long)).toBe('198.51.100.7');
  });

  it('gives the same answer from address() and key() for IPv4', () => {
    const identity = quietIdentity({ trustProxy: 1 });
    const req = request('10.0.0.1', { 'x-forwarded-for': '198.51.100.3' });
    expect(identity.address(req)).toBe('198.51.100.3');
    expect(identity.key(req)).toBe('198.51.100.3');
  });
});
