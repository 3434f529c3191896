import { readFileSync } from 'node:fs';
import { LABELS, METRICS, type MetricSpec, STORE_CALL_BUCKETS_SECONDS } from '@keel/telemetry';
import { describe, expect, it } from 'vitest';

const specs = Object.entries(METRICS) as [string, MetricSpec][];

describe('metric catalogue', () => {
  it('names every metric once in each ecosystem', () => {
    const prometheus = specs.map(([, spec]) => spec.prometheus);
    const otel = specs.map(([, spec]) => spec.otel.name);
    expect(new Set(prometheus).size).toBe(specs.length);
    expect(new Set(otel).size).toBe(specs.length);
  });

  it('follows Prometheus naming: snake_case, _total counters, _seconds histograms', () => {
    for (const [name, spec] of specs) {
      expect(spec.prometheus, name).toMatch(/^[a-z][a-z0-9_]*$/);
      if (spec.kind === 'counter') expect(spec.prometheus, name).toMatch(/_total$/);
      else expect(spec.prometheus, name).not.toMatch(/_total$/);
      if (spec.kind === 'histogram') expect(spec.prometheus, name).toMatch(/_seconds$/);
    }
  });

  it('follows OpenTelemetry naming: keel.* namespaces, UCUM units, seconds for durations', () => {
    for (const [name, spec] of specs) {
      expect(spec.otel.name, name).toMatch(/^keel(\.[a-z][a-z0-9_]*)+$/);
      expect(spec.otel.unit, name).toMatch(/^(\{[a-z]+\}|s|1)$/);
      expect(spec.otel.name, name).not.toMatch(/_total$|\.total$/);
    }
    expect(METRICS.storeCallDuration.otel.unit).toBe('s');
  });

  it('uses semantic-convention attribute names where one fits', () => {
    expect(LABELS.errorType.otel).toBe('error.type');
    for (const spec of [METRICS.storeCallDuration, METRICS.storeCircuitState]) {
      expect(spec.constantAttributes).toEqual({ 'db.system.name': 'redis' });
    }
    for (const label of Object.values(LABELS)) {
      expect(label.prometheus).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(label.otel).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
    }
  });

  it('has no label that could carry a key, an id, an address or a user', () => {
    const forbidden = /key|record|id|hash|user|ip|address|resource|url|path|message|tag/i;
    for (const [name, spec] of specs) {
      for (const label of spec.labels) expect(label, name).not.toMatch(forbidden);
    }
  });

  it('buckets store latency from 100 µs to 1 s, increasing', () => {
    expect(STORE_CALL_BUCKETS_SECONDS[0]).toBe(0.0001);
    expect(STORE_CALL_BUCKETS_SECONDS.at(-1)).toBe(1);
    const sorted = [...STORE_CALL_BUCKETS_SECONDS].sort((a, b) => a - b);
    expect(STORE_CALL_BUCKETS_SECONDS).toEqual(sorted);
    // At least five boundaries under a millisecond, where a healthy Redis answers.
    expect(STORE_CALL_BUCKETS_SECONDS.filter((b) => b <= 0.001).length).toBeGreaterThanOrEqual(5);
  });

  it('is documented in the README, metric by metric', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [name, spec] of specs) {
      const row = new RegExp(
        `\\|\\s*\`${spec.otel.name}\`\\s*\\|\\s*\`keel_${spec.prometheus}\`\\s*\\|\\s*${spec.kind}`,
      );
      expect(readme, name).toMatch(row);
    }
  });
});
