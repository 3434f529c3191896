import { describe, expect, it, vi } from 'vitest';
import { createEvents, createWarnings, type KeelEvent, toEvents } from '../../src/index.js';

describe('events', () => {
  it('delivers name, attributes and latency to every listener', () => {
    const seen: KeelEvent[] = [];
    const events = createEvents((e) => seen.push(e));
    events.emit('store.call', { feature: 'f', operation: 'op', outcome: 'ok' }, { durationMs: 2 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      name: 'store.call',
      attributes: { feature: 'f', operation: 'op', outcome: 'ok' },
      durationMs: 2,
    });
  });

  it('a throwing listener does not break emission or other listeners', () => {
    const events = createEvents();
    const good = vi.fn();
    events.on(() => {
      throw new Error('broken exporter');
    });
    events.on(good);
    expect(() => events.emit('store.client-error', { message: 'x' })).not.toThrow();
    expect(good).toHaveBeenCalledOnce();
  });

  it('unsubscribes and reports whether anybody listens', () => {
    const events = toEvents(undefined);
    expect(events.active).toBe(false);
    const off = events.on(() => {});
    expect(events.active).toBe(true);
    off();
    expect(events.active).toBe(false);
  });
});

describe('warnings', () => {
  it('warns once per name, through events and the log', () => {
    const log = vi.fn();
    const seen: KeelEvent[] = [];
    const warnings = createWarnings({ events: createEvents((e) => seen.push(e)), log });
    warnings.warn('trustAllProxies', 'trusting every proxy');
    warnings.warn('trustAllProxies', 'trusting every proxy');
    expect(log).toHaveBeenCalledOnce();
    expect(log.mock.calls[0]![0]).toContain('warnings: { trustAllProxies: false }');
    expect(seen.map((e) => e.name)).toEqual(['keel.warning']);
  });

  it('can be disabled by name or all at once', () => {
    const log = vi.fn();
    createWarnings({ switches: { a: false }, log }).warn('a', 'x');
    createWarnings({ switches: false, log }).warn('b', 'x');
    expect(log).not.toHaveBeenCalled();
    createWarnings({ switches: { a: false }, log }).warn('b', 'x');
    expect(log).toHaveBeenCalledOnce();
  });
});
