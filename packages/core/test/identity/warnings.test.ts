import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { createEvents, type KeelEvent } from '../../src/events.js';
import { type ClientIdentityOptions, createClientIdentity } from '../../src/identity/index.js';
import { request } from './support.js';

let warn: MockInstance<typeof console.warn>;
beforeEach(() => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  warn.mockRestore();
});

/** An identity whose warning names are collected from the events hook. */
function observed(options: ClientIdentityOptions = {}) {
  const seen: string[] = [];
  const events = createEvents((event: KeelEvent) => {
    if (event.name === 'keel.warning') {
      seen.push((event.attributes as { warning: string }).warning);
    }
  });
  return { identity: createClientIdentity({ ...options, events }), seen };
}

describe('client identity warnings', () => {
  it('warns once at construction when every proxy is trusted', () => {
    const { seen } = observed({ trustProxy: true });
    expect(seen).toEqual(['trustAllProxies']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(
      /any client can spoof its address with X-Forwarded-For/,
    );
    expect(warn.mock.calls[0]?.[0]).toMatch(/warnings: \{ trustAllProxies: false \}/);
  });

  it('does not warn about a hop count or a list', () => {
    expect(observed({ trustProxy: 1 }).seen).toEqual([]);
    expect(observed({ trustProxy: 'loopback' }).seen).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('warns once when proxy headers arrive but no proxy is trusted', () => {
    const { identity, seen } = observed();
    identity.key(request('10.0.0.1'));
    expect(seen).toEqual([]);
    for (let i = 0; i < 3; i++) identity.key(request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4' }));
    identity.key(request('10.0.0.1', { forwarded: 'for=1.2.3.4' }));
    expect(seen).toEqual(['untrustedProxyHeaders']);
    expect(warn.mock.calls[0]?.[0]).toMatch(/set trustProxy to its address or hop count/i);
  });

  it('also notices Forwarded alone', () => {
    const { identity, seen } = observed({ trustProxy: [] });
    identity.address(request('10.0.0.1', { forwarded: 'for=1.2.3.4' }));
    expect(seen).toEqual(['untrustedProxyHeaders']);
  });

  it('does not warn about proxy headers when proxies are trusted', () => {
    const { identity, seen } = observed({ trustProxy: 'loopback' });
    identity.key(request('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }));
    expect(seen).toEqual([]);
  });

  it('warns once when no client address can be found', () => {
    const { identity, seen } = observed();
    expect(identity.key(request(undefined))).toBe('unknown');
    expect(identity.key(request(undefined))).toBe('unknown');
    expect(seen).toEqual(['noClientAddress']);
    expect(identity.address(request(undefined))).toBeUndefined();
  });

  it('keeps one-shot state per identity', () => {
    observed({ trustProxy: true });
    observed({ trustProxy: true });
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('can be disabled by name', () => {
    const { identity, seen } = observed({
      trustProxy: true,
      warnings: { trustAllProxies: false, noClientAddress: false },
    });
    identity.key(request(undefined));
    expect(seen).toEqual([]);
    const untrusted = observed({ warnings: { untrustedProxyHeaders: false } });
    untrusted.identity.key(request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4' }));
    untrusted.identity.key(request(undefined));
    expect(untrusted.seen).toEqual(['noClientAddress']);
  });

  it('can be disabled all at once', () => {
    const { identity, seen } = observed({ trustProxy: true, warnings: false });
    identity.key(request(undefined));
    expect(seen).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });
});
