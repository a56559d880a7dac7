// The end-of-test report: the article's rows plus percentiles, dropped iterations and
// the per-replica spread, as readable text and as JSON with the same numbers.
import { config } from './config.js';
import { replicaSpread } from './replicas.js';

const API = '{endpoint:api}';
const metric = (data, name) => data.metrics[name];
export const value = (data, name, stat, fallback = 0) => {
  const m = metric(data, name);
  return m && m.values[stat] !== undefined ? m.values[stat] : fallback;
};

// A threshold we use only to make k6 report a sub-metric: not a pass/fail criterion.
const isObserver = (expr) => />=\s*0$/.test(expr);

function thresholds(data) {
  const results = {};
  for (const [name, m] of Object.entries(data.metrics)) {
    for (const [expr, outcome] of Object.entries(m.thresholds || {})) {
      if (!isObserver(expr)) results[`${name}: ${expr}`] = outcome.ok;
    }
  }
  return results;
}

// The fields of one run, named as in bench/model.py (Run), which reads this JSON as is.
export function buildResult(data) {
  const setupMs = (data.setup_data && data.setup_data.setupMs) || 0;
  const testTimeS = (data.state.testRunDurationMs - setupMs) / 1000;
  const completed = value(data, `http_reqs${API}`, 'count');
  const failed = value(data, `http_req_failed${API}`, 'passes');
  const dropped = value(data, 'dropped_iterations', 'count');
  const names = (data.setup_data && data.setup_data.replicas) || [];
  const checks = metric(data, 'checks');
  const results = thresholds(data);
  const spread = replicaSpread(data.metrics, names);
  const latency = (stat) => value(data, `http_req_duration${API}`, stat);
  return {
    target_url: `${config.baseUrl}${config.path}`,
    scenario: config.scenario,
    offered_rate: config.scenario === 'load' ? config.rate : 0,
    duration_s: config.durationS,
    test_time_s: testTimeS,
    concurrency: config.scenario === 'smoke' ? 1 : config.vus,
    achieved_rps: testTimeS > 0 ? completed / testTimeS : 0,
    completed,
    failed,
    dropped,
    not_served: failed + dropped,
    mean_ms: latency('avg'),
    p50_ms: latency('med'),
    p95_ms: latency('p(95)'),
    p99_ms: latency('p(99)'),
    max_ms: latency('max'),
    checks: { passed: checks ? checks.values.passes : 0, failed: checks ? checks.values.fails : 0 },
    per_replica: spread.counts,
    replica_max_min_ratio: spread.max_min_ratio,
    without_replica_header: spread.without_replica,
    thresholds: results,
    // No /api request at all (e.g. setup found no server) passes nothing.
    thresholds_passed: completed > 0 && Object.values(results).every(Boolean),
  };
}

const ms = (v) => `${v.toFixed(1)} ms`;
const row = (label, text) => `  ${label.padEnd(22)}${text}`;

function replicaLines(r) {
  const total = Object.values(r.per_replica).reduce((a, b) => a + b, 0);
  const lines = Object.entries(r.per_replica).map(([name, n]) =>
    row(`  ${name}`, `${n} (${total ? ((n / total) * 100).toFixed(1) : 0}%)`));
  if (r.without_replica_header) lines.push(row('  (no X-Replica)', `${r.without_replica_header} answered by nginx itself`));
  const ratio = r.replica_max_min_ratio === null ? 'n/a (a replica got none)' : r.replica_max_min_ratio.toFixed(2);
  return [row('Replicas seen', `${Object.keys(r.per_replica).length}, max/min share ${ratio}`), ...lines];
}

export function textReport(r) {
  const failedThresholds = Object.entries(r.thresholds).filter(([, ok]) => !ok).map(([k]) => k);
  const lines = [
    '',
    `k6 ${r.scenario} summary`,
    row('Target URL:', r.target_url),
    row('Total Test Time:', `${r.test_time_s.toFixed(2)} s`),
    row('Requests Per Second:', `${r.achieved_rps.toFixed(1)}${r.offered_rate ? ` (offered ${r.offered_rate})` : ''}`),
    row('Concurrency Level:', `${r.concurrency}`),
    row('Completed requests:', `${r.completed}`),
    row('Total Errors:', `${r.failed}`),
    row('Dropped iterations:', `${r.dropped} (not started: no free VU)`),
    row('Not served:', `${r.not_served} (errors + dropped)`),
    row('Mean Latency:', ms(r.mean_ms)),
    row('p50 / p95 / p99:', `${ms(r.p50_ms)} / ${ms(r.p95_ms)} / ${ms(r.p99_ms)}`),
    row('Longest Request:', ms(r.max_ms)),
    row('Checks:', `${r.checks.passed} passed, ${r.checks.failed} failed`),
    ...replicaLines(r),
    row('Thresholds:', r.thresholds_passed ? 'all passed'
      : `FAILED: ${failedThresholds.join('; ') || 'no /api request completed'}`),
    '',
  ];
  return lines.join('\n');
}
