/**
 * The operator page (`GET /admin/keel`, admins only): live cache hit rate, limited rate,
 * idempotency replays, Redis latency percentiles and each feature's circuit breaker. Plain HTML
 * and one script file, no build step: the script polls `/admin/keel/stats` (an
 * {@link OperatorSnapshot}) every second and computes rates and percentiles from the difference
 * between the newest snapshot and the one about ten seconds older (over everything since start
 * until ten seconds have passed).
 *
 * Served with a Content-Security-Policy that allows only this script (from the same origin),
 * fetches to the same origin and inline styles.
 */

/** Where the page polls, and where its script is. */
export const OPERATOR_PATHS = {
  page: '/admin/keel',
  stats: '/admin/keel/stats',
  script: '/admin/keel/operator.js',
} as const;

/** Headers for the page and its script: no caching, no framing, only our own script. */
export const OPERATOR_PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
} as const;

export function renderOperatorPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Keel — operator</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2433; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1rem; margin-top: 1.6rem; }
  .cards { display: flex; gap: 1rem; flex-wrap: wrap; }
  .card { border: 1px solid #d5d9e2; border-radius: 8px; padding: .8rem 1rem; min-width: 11rem; }
  .card .value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
  .card .detail { color: #5b6475; font-size: .85rem; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .3rem .8rem; border-bottom: 1px solid #e4e7ee; }
  .state-closed { color: #17713a; } .state-half-open { color: #9a6400; }
  .state-open { color: #b3261e; font-weight: 600; }
  #status { color: #5b6475; font-size: .85rem; }
</style>
</head>
<body>
<h1>Keel — operator</h1>
<p id="status">loading…</p>
<div class="cards">
  <div class="card"><div>Cache hit rate</div><div class="value" id="hit-rate">—</div>
    <div class="detail"><span id="cache-hits-total">0</span> hits of <span id="cache-lookups-total">0</span> lookups</div></div>
  <div class="card"><div>Limited rate</div><div class="value" id="limited-rate">—</div>
    <div class="detail"><span id="rl-limited-total">0</span> limited, <span id="rl-allowed-total">0</span> allowed</div></div>
  <div class="card"><div>Idempotency replays</div><div class="value" id="replay-rate">—</div>
    <div class="detail"><span id="replays-total">0</span> replayed, <span id="claims-total">0</span> first runs</div></div>
  <div class="card"><div>Redis latency, p99</div><div class="value" id="latency-p99">—</div>
    <div class="detail">p50 <span id="latency-p50">—</span> · p95 <span id="latency-p95">—</span></div></div>
</div>
<h2>Redis stores</h2>
<table id="stores">
  <thead><tr><th>feature</th><th>breaker</th><th>calls/s</th><th>errors/s</th><th>p50</th><th>p99</th></tr></thead>
  <tbody></tbody>
</table>
<p class="detail">Rates and percentiles: the last 10 s. Totals: since the process started.
  The same numbers are at <a href="/metrics">/metrics</a> (Prometheus text).</p>
<script src="${OPERATOR_PATHS.script}"></script>
</body>
</html>
`;
}

/** The page's script: vanilla browser JavaScript, served as is. */
export const OPERATOR_SCRIPT = `'use strict';
(() => {
  const WINDOW_MS = 10000;
  const REFRESH_MS = 1000;
  const history = [];
  const $ = (id) => document.getElementById(id);
  const set = (id, text) => { $(id).textContent = text; };
  const percent = (part, whole) => (whole > 0 ? (100 * part / whole).toFixed(1) + ' %' : '—');
  const perSecond = (n, ms) => (ms > 0 ? (n * 1000 / ms).toFixed(1) + '/s' : '—');
  const millis = (s) => (s === undefined ? '—' : s < 0.001 ? (s * 1000).toFixed(2) + ' ms' : (s * 1000).toFixed(1) + ' ms');

  // Histogram difference newer - older, aligned on bounds.
  function delta(newer, older) {
    const before = new Map((older?.bounds ?? []).map((b, i) => [b, older.counts[i]]));
    const pairs = newer.bounds.map((b, i) => [b, newer.counts[i] - (before.get(b) ?? 0)]);
    pairs.sort((a, b) => a[0] - b[0]);
    return {
      bounds: pairs.map((p) => p[0]),
      counts: pairs.map((p) => p[1]),
      count: newer.count - (older?.count ?? 0),
      errors: newer.errors - (older?.errors ?? 0),
    };
  }

  // Prometheus' histogram_quantile: linear within the bucket holding the rank.
  function quantile(q, h) {
    if (h.count <= 0) return undefined;
    const rank = q * h.count;
    for (let i = 0; i < h.bounds.length; i++) {
      if (h.counts[i] >= rank) {
        const lower = i === 0 ? 0 : h.bounds[i - 1];
        const below = i === 0 ? 0 : h.counts[i - 1];
        const inBucket = h.counts[i] - below;
        return inBucket > 0 ? lower + (h.bounds[i] - lower) * (rank - below) / inBucket : h.bounds[i];
      }
    }
    return h.bounds[h.bounds.length - 1];
  }

  function render(now, base) {
    const ms = now.time - base.time;
    const d = (pick) => pick(now) - pick(base);
    const hits = d((s) => s.cache.hit);
    const lookups = d((s) => s.cache.hit + s.cache.miss + s.cache.stale + s.cache.bypass);
    set('hit-rate', percent(hits, lookups));
    set('cache-hits-total', String(now.cache.hit));
    set('cache-lookups-total', String(now.cache.hit + now.cache.miss + now.cache.stale + now.cache.bypass));
    const limited = d((s) => s.rateLimit.limited);
    set('limited-rate', percent(limited, limited + d((s) => s.rateLimit.allowed)));
    set('rl-limited-total', String(now.rateLimit.limited));
    set('rl-allowed-total', String(now.rateLimit.allowed));
    set('replay-rate', perSecond(d((s) => s.idempotency.replayed), ms));
    set('replays-total', String(now.idempotency.replayed));
    set('claims-total', String(now.idempotency.claimed));
    const all = delta(now.store.all, base.store.all);
    set('latency-p50', millis(quantile(0.5, all)));
    set('latency-p95', millis(quantile(0.95, all)));
    set('latency-p99', millis(quantile(0.99, all)));
    renderStores(now, base, ms);
  }

  function renderStores(now, base, ms) {
    const body = $('stores').tBodies[0];
    for (const [feature, h] of Object.entries(now.store.features).sort()) {
      let row = body.querySelector('tr[data-feature="' + CSS.escape(feature) + '"]');
      if (!row) {
        row = body.insertRow();
        row.dataset.feature = feature;
        for (let i = 0; i < 6; i++) row.insertCell();
        row.cells[0].textContent = feature;
      }
      const w = delta(h, base.store.features[feature]);
      row.cells[1].textContent = h.breaker;
      row.cells[1].className = 'breaker state-' + h.breaker;
      row.cells[2].textContent = perSecond(w.count, ms);
      row.cells[3].textContent = perSecond(w.errors, ms);
      row.cells[4].textContent = millis(quantile(0.5, w));
      row.cells[5].textContent = millis(quantile(0.99, w));
    }
  }

  async function poll() {
    try {
      const response = await fetch(${JSON.stringify(OPERATOR_PATHS.stats)}, { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const now = await response.json();
      history.push(now);
      while (history.length > 2 && history[1].time <= now.time - WINDOW_MS) history.shift();
      // Before a second poll: totals since start (no rates per second yet).
      const zero = { time: now.time, rateLimit: { allowed: 0, limited: 0 },
        cache: { hit: 0, miss: 0, stale: 0, bypass: 0 }, idempotency: { replayed: 0, claimed: 0 },
        store: { all: { bounds: [], counts: [], count: 0, errors: 0 }, features: {} } };
      render(now, history.length > 1 ? history[0] : zero);
      set('status', 'updated ' + new Date(now.time).toLocaleTimeString());
    } catch (error) {
      set('status', 'stats unavailable: ' + error.message);
    } finally {
      setTimeout(poll, REFRESH_MS);
    }
  }
  poll();
})();
`;
