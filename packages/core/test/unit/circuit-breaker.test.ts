import { describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  createManualClock,
  StoreTimeoutError,
  withDeadline,
} from '../../src/index.js';

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, then lets one probe through half-open', () => {
    const clock = createManualClock(0);
    const states: string[] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: 1000,
      now: clock,
      onStateChange: (s) => states.push(s),
    });
    for (let i = 0; i < 3; i++) {
      expect(breaker.tryPass()).toBe(true);
      breaker.failure();
    }
    expect(breaker.state).toBe('open');
    expect(breaker.tryPass()).toBe(false);
    clock.advance(1000);
    expect(breaker.tryPass()).toBe(true); // the probe
    expect(breaker.tryPass()).toBe(false); // only one at a time
    breaker.failure();
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    expect(breaker.tryPass()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('a success resets the failure count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    breaker.failure();
    breaker.success();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });
});

describe('withDeadline', () => {
  it('rejects with StoreTimeoutError when the call is too slow', async () => {
    const never = new Promise(() => {});
    await expect(withDeadline(never, 20, 'op')).rejects.toBeInstanceOf(StoreTimeoutError);
  });

  it('passes results and errors through', async () => {
    await expect(withDeadline(Promise.resolve(1), 20, 'op')).resolves.toBe(1);
    await expect(withDeadline(Promise.reject(new Error('x')), 20, 'op')).rejects.toThrow('x');
  });
});
