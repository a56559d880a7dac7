// Load test of the CPU-bound /api behind nginx, in the style of grafana/quickpizza.
//
//   k6 run k6/api.js                                # the article's test: 150 req/s, 20 s, 10 VUs
//   k6 run -e RATE=40 -e DURATION=15s k6/api.js     # (or set them in the environment)
//   k6 run -e SCENARIO=capacity -e START_RATE=10 -e STEP_RATE=10 -e MAX_RATE=80 k6/api.js
//   k6 run -e SCENARIO=smoke k6/api.js
//
// Environment: BASE_URL (http://localhost:8080), RATE (150), DURATION (20s), VUS (10),
// SCENARIO (load | capacity | smoke), P95_MS (500) / P99_MS (1000): latency bounds,
// SUMMARY_JSON (k6-summary.json): where handleSummary writes the JSON report.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { config, capacitySteps, scenarios, seconds } from './lib/config.js';
import { countReplica, discover, slotThresholds } from './lib/replicas.js';
import { buildResult, textReport } from './lib/summary.js';

// Capacity runs tag each request with its step's rate; these thresholds only make k6
// report each step (see replicas.js for why a threshold is needed for that).
function stepObservers() {
  if (config.scenario !== 'capacity') return {};
  const observers = {};
  for (const rate of capacitySteps()) {
    observers[`http_reqs{step:${rate}}`] = ['count>=0'];
    observers[`http_req_failed{step:${rate}}`] = ['rate>=0'];
    observers[`http_req_duration{step:${rate}}`] = ['p(95)>=0'];
  }
  return observers;
}

export const options = {
  scenarios: scenarios(),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  thresholds: {
    // A 503 (a replica shedding load) is an error; so is an iteration k6 could not start.
    'http_req_failed{endpoint:api}': ['rate==0'],
    'http_req_duration{endpoint:api}': [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    dropped_iterations: ['count==0'],
    checks: ['rate==1'],
    'http_reqs{endpoint:api}': ['count>=0'],
    ...slotThresholds(),
    ...stepObservers(),
  },
};

export function setup() {
  const started = Date.now();
  const replicas = discover(config.baseUrl);
  console.log(`${config.scenario}: ${config.baseUrl}${config.path}, ${replicas.length} replica(s) answer: ${replicas.join(', ')}`);
  // Reported so the summary can leave discovery out of the test time and the rate.
  return { replicas, setupMs: Date.now() - started };
}

function currentStep() {
  const elapsedS = (Date.now() - exec.scenario.startTime) / 1000;
  const steps = capacitySteps();
  return steps[Math.min(Math.floor(elapsedS / seconds(config.stepDuration)), steps.length - 1)];
}

export default function (data) {
  const tags = { endpoint: 'api' };
  if (config.scenario === 'capacity') tags.step = String(currentStep());
  const res = http.get(`${config.baseUrl}${config.path}`, { tags });
  check(res, {
    'the status is 200': (r) => r.status === 200,
    [`the body is "${config.expectedBody}"`]: (r) => r.body === config.expectedBody,
  }, tags);
  countReplica(res, data.replicas);
}

export function handleSummary(data) {
  const result = buildResult(data);
  return {
    stdout: textReport(result),
    [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(result, null, 2),
  };
}
