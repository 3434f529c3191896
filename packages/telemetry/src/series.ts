/** The label value every position of the overflow series carries. */
export const OVERFLOW_LABEL_VALUE = '_overflow';

/** @default for `maxSeriesPerMetric`: far above what Keel's bounded labels produce. */
export const DEFAULT_MAX_SERIES_PER_METRIC = 1000;

/**
 * Bound instruments of one metric, one per distinct label-value tuple, created on first use.
 * Caching them keeps the hot path to one string join and one map lookup. Past `maxSeries`
 * tuples, every new one is recorded on a single overflow series (all values `_overflow`), so a
 * misconfiguration (a limiter named after each user) cannot grow memory or a scrape without
 * bound; the overflow series showing up is the signal to fix it.
 */
export class SeriesCache<T> {
  readonly #series = new Map<string, T>();
  #overflow: T | undefined;

  constructor(
    private readonly create: (values: readonly string[]) => T,
    private readonly maxSeries: number = DEFAULT_MAX_SERIES_PER_METRIC,
  ) {}

  get(values: readonly string[]): T {
    const key = values.length === 1 ? values[0]! : values.join('\u0001');
    const known = this.#series.get(key);
    if (known !== undefined) return known;
    if (this.#series.size >= this.maxSeries) {
      this.#overflow ??= this.create(values.map(() => OVERFLOW_LABEL_VALUE));
      return this.#overflow;
    }
    const created = this.create(values);
    this.#series.set(key, created);
    return created;
  }

  /** Distinct label tuples recorded (the overflow series not counted). */
  get size(): number {
    return this.#series.size;
  }
}
