import { describe, expect, it } from 'vitest';
import { isKeelError, KeelOptionError } from '../../src/errors.js';
import { type ClientIdentityOptions, createClientIdentity } from '../../src/identity/index.js';

function optionErrorOf(options: unknown): KeelOptionError {
  try {
    createClientIdentity({ warnings: false, ...(options as ClientIdentityOptions) });
  } catch (error) {
    expect(error).toBeInstanceOf(KeelOptionError);
    return error as KeelOptionError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

describe('client identity option validation', () => {
  it.each([
    ['10.0.0.0/33', '"10.0.0.0/33"'],
    ['nonsense', '"nonsense"'],
    ['2001:db8::/129', '"2001:db8::/129"'],
    ['10.0.0.0/255.0.255.0', '"10.0.0.0/255.0.255.0"'],
    ['10.1/8', '"10.1/8"'],
    ['fe80::1%eth0', '"fe80::1%eth0"'],
    ['constructor', '"constructor"'],
  ])('rejects the trustProxy entry %s', (entry, shown) => {
    for (const trustProxy of [entry, [entry], ['10.0.0.1', entry], `loopback, ${entry}`]) {
      const error = optionErrorOf({ trustProxy });
      expect(error.option).toBe('clientIdentity.trustProxy');
      expect(error.code).toBe('KEEL_ERR_INVALID_OPTION');
      expect(error.message).toContain('clientIdentity: option "trustProxy" must be');
      expect(error.message).toContain(`got ${shown}`);
      expect(error.message).toContain('"loopback", "linklocal", "uniquelocal"');
      expect(isKeelError(error)).toBe(true);
    }
  });

  it('points at the number when a hop count arrives as a string', () => {
    expect(optionErrorOf({ trustProxy: '1' }).message).toMatch(/pass the number 1/);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the hop count %s', (n) => {
    const error = optionErrorOf({ trustProxy: n });
    expect(error.option).toBe('clientIdentity.trustProxy');
    expect(error.message).toMatch(/must be a hop count >= 1 \(use false to trust no proxy/);
  });

  it('rejects other types', () => {
    expect(optionErrorOf({ trustProxy: {} }).message).toMatch(/got an object/);
    expect(optionErrorOf({ trustProxy: [1] }).message).toMatch(/got 1$/);
  });

  it.each([31, 65, 96, 127, 0, 56.5, '56'])('rejects ipv6Subnet %s', (ipv6Subnet) => {
    const error = optionErrorOf({ ipv6Subnet });
    expect(error.option).toBe('clientIdentity.ipv6Subnet');
    expect(error.message).toContain(
      'option "ipv6Subnet" must be an integer between 32 and 64 (IPv6 prefix length in bits), or 128',
    );
  });

  it('rejects an unknown proxyHeader', () => {
    const error = optionErrorOf({ proxyHeader: 'x-real-ip' });
    expect(error.option).toBe('clientIdentity.proxyHeader');
    expect(error.message).toBe(
      'clientIdentity: option "proxyHeader" must be one of "x-forwarded-for", "forwarded", "both", got "x-real-ip"',
    );
  });

  it('rejects a misspelt option with a suggestion', () => {
    const error = optionErrorOf({ trustProxys: 1 });
    expect(error.option).toBe('clientIdentity.trustProxys');
    expect(error.message).toMatch(/did you mean "trustProxy"/);
  });

  it('accepts every documented form', () => {
    const valid: ClientIdentityOptions[] = [
      {},
      { trustProxy: false },
      { trustProxy: true },
      { trustProxy: 1 },
      { trustProxy: 'loopback' },
      { trustProxy: ['linklocal', 'uniquelocal', '10.0.0.1', '2001:db8::/32', '::/0'] },
      { trustProxy: '10.0.0.0/255.0.0.0, 192.168.0.0/16' },
      { proxyHeader: 'x-forwarded-for' },
      { proxyHeader: 'forwarded' },
      { proxyHeader: 'both' },
      { ipv6Subnet: 32 },
      { ipv6Subnet: 64 },
      { ipv6Subnet: 128 },
    ];
    for (const options of valid) {
      expect(() => createClientIdentity({ warnings: false, ...options })).not.toThrow();
    }
  });
});
