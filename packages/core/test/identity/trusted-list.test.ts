import { describe, expect, it } from 'vitest';
import { clientBehind } from './support.js';

describe('trustProxy as a list of addresses and CIDR ranges', () => {
  it('walks through trusted hops and stops at the first untrusted one', () => {
    const options = { trustProxy: ['10.0.0.0/8'] };
    expect(clientBehind(options, '10.1.2.3', '198.51.100.1, 10.0.0.5')).toBe('198.51.100.1');
    expect(clientBehind(options, '10.1.2.3', '203.0.113.66, 198.51.100.1, 10.0.0.5')).toBe(
      '198.51.100.1',
    );
  });

  it('answers the left-most address when every hop is trusted', () => {
    expect(clientBehind({ trustProxy: ['10.0.0.0/8'] }, '10.1.2.3', '10.0.0.7, 10.0.0.5')).toBe(
      '10.0.0.7',
    );
  });

  it('answers the peer itself when the peer is not trusted', () => {
    expect(clientBehind({ trustProxy: ['10.0.0.0/8'] }, '192.0.2.1', '198.51.100.1')).toBe(
      '192.0.2.1',
    );
  });

  it('accepts single addresses, comma-separated strings and netmasks', () => {
    expect(clientBehind({ trustProxy: '10.0.0.1' }, '10.0.0.1', '198.51.100.1')).toBe(
      '198.51.100.1',
    );
    expect(clientBehind({ trustProxy: '10.0.0.1' }, '10.0.0.2', '198.51.100.1')).toBe('10.0.0.2');
    expect(
      clientBehind({ trustProxy: 'loopback, 10.0.0.1' }, '10.0.0.1', '198.51.100.1, 127.0.0.1'),
    ).toBe('198.51.100.1');
    expect(clientBehind({ trustProxy: ['10.0.0.0/255.0.0.0'] }, '10.9.9.9', '198.51.100.1')).toBe(
      '198.51.100.1',
    );
  });

  it('matches IPv6 ranges', () => {
    const options = { trustProxy: ['2001:db8::/32'] };
    expect(clientBehind(options, '2001:db8:1::1', '2001:db8:2::2, 2001:db8:3::3')).toBe(
      '2001:db8:2::2',
    );
    expect(clientBehind(options, '2001:db8:1::1', '2001:db8:2::2, 2001:db9::3')).toBe(
      '2001:db9::3',
    );
    expect(clientBehind(options, '2001:db8:1::1', '2001:db9::9, 2001:db8:3::3')).toBe(
      '2001:db9::9',
    );
  });

  it('knows the loopback preset', () => {
    const options = { trustProxy: 'loopback' };
    expect(clientBehind(options, '127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '127.200.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '::1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '::ffff:127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
  });

  it('knows the linklocal preset', () => {
    const options = { trustProxy: ['linklocal'] };
    expect(clientBehind(options, '169.254.10.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, 'fe80::1%eth0', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '127.0.0.1', '198.51.100.1')).toBe('127.0.0.1');
  });

  it('knows the uniquelocal preset (private ranges)', () => {
    const options = { trustProxy: ['uniquelocal'] };
    for (const proxy of ['10.1.1.1', '172.16.0.1', '172.31.255.254', '192.168.1.1', 'fd00::1']) {
      expect(clientBehind(options, proxy, '198.51.100.1'), proxy).toBe('198.51.100.1');
    }
    for (const outside of ['172.32.0.1', '192.169.0.1', '127.0.0.1', '2001:db8::1']) {
      expect(clientBehind(options, outside, '198.51.100.1'), outside).toBe(outside);
    }
  });

  it('reads IPv4-mapped ranges as the IPv4 range they map', () => {
    const options = { trustProxy: ['::ffff:10.0.0.0/104'] };
    expect(clientBehind(options, '10.1.1.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '::ffff:10.1.1.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientBehind(options, '11.1.1.1', '198.51.100.1')).toBe('11.1.1.1');
  });

  it('lets an IPv6 range wider than ::ffff:0:0/96 cover IPv4 too, as proxy-addr does', () => {
    expect(clientBehind({ trustProxy: ['::/0'] }, '10.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
  });

  it('treats an empty list as trusting nobody', () => {
    expect(clientBehind({ trustProxy: [] }, '10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
    expect(clientBehind({ trustProxy: '' }, '10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
  });

  it('never trusts a peer without an address', () => {
    expect(clientBehind({ trustProxy: ['0.0.0.0/0', '::/0'] }, undefined, '198.51.100.1')).toBe(
      undefined,
    );
  });

  it('stops at a malformed entry inside the trusted part of the chain', () => {
    const options = { trustProxy: ['10.0.0.0/8'] };
    expect(clientBehind(options, '10.0.0.1', '198.51.100.1, bogus, 10.0.0.2')).toBe('10.0.0.2');
  });
});
