// The end-of-test report: the article's rows plus percentiles, dropped iterations and
// the per-replica spread, as readable text and as JSON with the same numbers.
import { config, capacitySteps, seconds } from './config.js';
import { replicaSpread } from './replicas.js';

const API = '{endpoint:api}';
const metric = (data, name) => data.metrics[name];
const value = (data, name, stat, fallback = 0) => {
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

// Dropped iterations carry no step tag, so a step counts as sustained when it completed
// (nearly) as many requests as it offered, with no errors and p95 under the bound.
function capacity(data) {
  const stepS = seconds(config.stepDuration);
  const steps = capacitySteps().map((rate) => {
    const requests = value(data, `http_reqs{step:${rate}}`, 'count');
    return {
      rate,
      requests,
      achieved_rps: requests / stepS,
      error_rate: value(data, `http_req_failed{step:${rate}}`, 'rate'),
      p95_ms: value(data, `http_req_duration{step:${rate}}`, 'p(95)', null),
    };
  });
  const sustained = (s) => s.achieved_rps >= 0.95 * s.rate && s.error_rate === 0 && s.p95_ms !== null && s.p95_ms < config.p95Ms;
  const ok = steps.filter(sustained);
  return { p95_bound_ms: config.p95Ms, steps, sustained_rate: ok.length ? ok[ok.length - 1].rate : 0 };
}

export function buildResult(data) {
  const setupMs = (data.setup_data && data.setup_data.setupMs) || 0;
  const testTimeS = (data.state.testRunDurationMs - setupMs) / 1000;
  const completed = value(data, `http_reqs${API}`, 'count');
  const failed = value(data, `http_req_failed${API}`, 'passes');
  const dropped = value(data, 'dropped_iterations', 'count');
  const names = (data.setup_data && data.setup_data.replicas) || [];
  const checks = metric(data, 'checks');
  const results = thresholds(data);
  const result = {
    target_url: `${config.baseUrl}${config.path}`,
    scenario: config.scenario,
    offered_rate: config.scenario === 'load' ? config.rate : null,
    duration_s: config.durationS,
    test_time_s: testTimeS,
    concurrency: config.scenario === 'smoke' ? 1 : config.vus,
    rps: testTimeS > 0 ? completed / testTimeS : 0,
    completed,
    failed,
    dropped,
    not_served: failed + dropped,
    latency_ms: {
      mean: value(data, `http_req_duration${API}`, 'avg'),
      p50: value(data, `http_req_duration${API}`, 'med'),
      p95: value(data, `http_req_duration${API}`, 'p(95)'),
      p99: value(data, `http_req_duration${API}`, 'p(99)'),
      max: value(data, `http_req_duration${API}`, 'max'),
    },
    checks: { passed: checks ? checks.values.passes : 0, failed: checks ? checks.values.fails : 0 },
    replicas: replicaSpread(data.metrics, names),
    thresholds: results,
    // No /api request at all (e.g. setup found no server) passes nothing.
    thresholds_passed: completed > 0 && Object.values(results).every(Boolean),
  };
  if (config.scenario === 'capacity') result.capacity = capacity(data);
  return result;
}

const ms = (v) => `${v.toFixed(1)} ms`;
const row = (label, text) => `  ${label.padEnd(22)}${text}`;

function replicaLines(spread) {
  const lines = Object.entries(spread.counts).map(([name, n]) =>
    row(`  ${name}`, `${n} (${(spread.shares[name] * 100).toFixed(1)}%)`));
  if (spread.without_replica) lines.push(row('  (no X-Replica)', `${spread.without_replica} answered by nginx itself`));
  const ratio = spread.max_min_ratio === null ? 'n/a (a replica got none)' : spread.max_min_ratio.toFixed(2);
  return [row('Replicas seen', `${lines.length ? Object.keys(spread.counts).length : 0}, max/min share ${ratio}`), ...lines];
}

function capacityLines(cap) {
  const lines = cap.steps.map((s) => row(`  ${s.rate} req/s`,
    `${s.achieved_rps.toFixed(1)} req/s done, errors ${(s.error_rate * 100).toFixed(1)}%, p95 ${s.p95_ms === null ? '-' : ms(s.p95_ms)}`));
  return [row('Sustained rate', `${cap.sustained_rate} req/s (>= 95% done, 0 errors, p95 < ${cap.p95_bound_ms} ms)`), ...lines];
}

export function textReport(r) {
  const failedThresholds = Object.entries(r.thresholds).filter(([, ok]) => !ok).map(([k]) => k);
  const lines = [
    '',
    `k6 ${r.scenario} summary`,
    row('Target URL:', r.target_url),
    row('Total Test Time:', `${r.test_time_s.toFixed(2)} s`),
    row('Requests Per Second:', `${r.rps.toFixed(1)}${r.offered_rate ? ` (offered ${r.offered_rate})` : ''}`),
    row('Concurrency Level:', `${r.concurrency}`),
    row('Completed requests:', `${r.completed}`),
    row('Total Errors:', `${r.failed}`),
    row('Dropped iterations:', `${r.dropped} (not started: no free VU)`),
    row('Not served:', `${r.not_served} (errors + dropped)`),
    row('Mean Latency:', ms(r.latency_ms.mean)),
    row('p50 / p95 / p99:', `${ms(r.latency_ms.p50)} / ${ms(r.latency_ms.p95)} / ${ms(r.latency_ms.p99)}`),
    row('Longest Request:', ms(r.latency_ms.max)),
    row('Checks:', `${r.checks.passed} passed, ${r.checks.failed} failed`),
    ...replicaLines(r.replicas),
    ...(r.capacity ? capacityLines(r.capacity) : []),
    row('Thresholds:', r.thresholds_passed ? 'all passed'
      : `FAILED: ${failedThresholds.join('; ') || 'no /api request completed'}`),
    '',
  ];
  return lines.join('\n');
}
