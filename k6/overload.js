// Overload probe for `make chaos`: flood /api far past capacity while watching /healthz.
// Under overload the stack must answer the excess fast (503 from a full replica queue,
// or 429 from nginx) instead of queueing it, and health checks must stay quick.
//
//   k6 run -e RATE=300 -e DURATION=10s k6/overload.js
//
// Environment: BASE_URL (http://localhost:8080), RATE (300 req/s), DURATION (10s),
// SUMMARY_JSON (overload-summary.json).
import http from 'k6/http';
import { check } from 'k6';
import { Trend } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:8080';
const RATE = Number(__ENV.RATE || 300);
const DURATION = __ENV.DURATION || '10s';

const shedDuration = new Trend('shed_duration', true);
const servedDuration = new Trend('served_duration', true);
const healthDuration = new Trend('health_duration', true);

export const options = {
  scenarios: {
    flood: {
      executor: 'constant-arrival-rate', exec: 'flood', rate: RATE, timeUnit: '1s',
      duration: DURATION, preAllocatedVUs: 100, maxVUs: 400,
    },
    health: {
      executor: 'constant-arrival-rate', exec: 'health', rate: 5, timeUnit: '1s',
      duration: DURATION, preAllocatedVUs: 5, maxVUs: 20,
    },
  },
  thresholds: {
    'shed_duration': ['p(95)<500'],
    'health_duration': ['p(95)<500'],
    'checks{probe:health}': ['rate==1'],
    'checks{probe:flood}': ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

export function flood() {
  const res = http.get(`${BASE_URL}/api`, { tags: { probe: 'flood' }, responseCallback: http.expectedStatuses(200, 429, 503) });
  (res.status === 200 ? servedDuration : shedDuration).add(res.timings.duration);
  check(res, {
    'the answer is a result, or a fast 503/429 saying to retry': (r) => r.status === 200 || r.headers['Retry-After'] !== undefined,
  }, { probe: 'flood' });
}

export function health() {
  const res = http.get(`${BASE_URL}/healthz`, { tags: { probe: 'health' } });
  healthDuration.add(res.timings.duration);
  check(res, { 'health answers 200 while /api is flooded': (r) => r.status === 200 }, { probe: 'health' });
}

function trend(data, name) {
  const values = (data.metrics[name] || { values: {} }).values;
  return { count: values.count || 0, p95_ms: values['p(95)'] || 0, max_ms: values.max || 0 };
}

export function handleSummary(data) {
  const result = {
    rate: RATE, duration: DURATION,
    served: trend(data, 'served_duration'), shed: trend(data, 'shed_duration'),
    health: trend(data, 'health_duration'),
    dropped: data.metrics.dropped_iterations ? data.metrics.dropped_iterations.values.count : 0,
    checks_passed: data.metrics.checks ? data.metrics.checks.values.rate === 1 : false,
  };
  const text = `overload at ${RATE} req/s for ${DURATION}: ${result.served.count} served ` +
    `(p95 ${result.served.p95_ms.toFixed(0)} ms), ${result.shed.count} shed (p95 ${result.shed.p95_ms.toFixed(0)} ms), ` +
    `/healthz p95 ${result.health.p95_ms.toFixed(0)} ms, ${result.dropped} dropped\n`;
  return { stdout: text, [__ENV.SUMMARY_JSON || 'overload-summary.json']: JSON.stringify(result, null, 2) };
}
