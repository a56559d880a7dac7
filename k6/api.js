// Load test of the CPU-bound /api behind nginx, in the style of grafana/quickpizza.
//
//   k6 run k6/api.js                                # the article's test: 150 req/s, 20 s, 10 VUs
//   k6 run -e RATE=40 -e DURATION=15s k6/api.js     # (or set them in the environment)
//   k6 run -e 'API_PATH=/api?n=1000' -e RATE=500 -e VUS=50 k6/api.js   # a cheap job, at a bigger machine's rate
//   k6 run -e SCENARIO=smoke k6/api.js
//
// Environment: BASE_URL (http://localhost:8080), RATE (150), DURATION (20s), VUS (10),
// API_PATH (/api), SCENARIO (load | smoke), P95_MS (500) / P99_MS (1000): latency bounds,
// SUMMARY_JSON (k6-summary.json): where handleSummary writes the JSON report.
import http from 'k6/http';
import { check } from 'k6';
import { apiThresholds, config, scenarios } from './lib/config.js';
import { countReplica, discover, slotThresholds } from './lib/replicas.js';
import { buildResult, textReport } from './lib/summary.js';

export const options = {
  scenarios: scenarios(),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  thresholds: { ...apiThresholds(config.p95Ms, config.p99Ms), ...slotThresholds() },
};

export function setup() {
  const started = Date.now();
  const replicas = discover(config.baseUrl);
  console.log(`${config.scenario}: ${config.baseUrl}${config.path}, ${replicas.length} replica(s) answer: ${replicas.join(', ')}`);
  // Reported so the summary can leave discovery out of the test time and the rate.
  return { replicas, setupMs: Date.now() - started };
}

export default function (data) {
  const tags = { endpoint: 'api' };
  const res = http.get(`${config.baseUrl}${config.path}`, { tags });
  const checks = { 'the status is 200': (r) => r.status === 200 };
  if (config.expectedBody) checks[`the body is "${config.expectedBody}"`] = (r) => r.body === config.expectedBody;
  check(res, checks, tags);
  countReplica(res, data.replicas);
}

export function handleSummary(data) {
  const result = buildResult(data);
  return {
    stdout: textReport(result),
    [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(result, null, 2),
  };
}
