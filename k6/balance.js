// Mixed job sizes, open model: how the balancing treats small jobs next to large ones.
// Users send jobs of very different sizes; a balancer that is blind to load puts a small
// job behind a large one while another replica idles. Small and large jobs are reported
// apart, since one mean hides exactly that.
//
//   k6 run k6/balance.js                                          # 80% n=100000, 20% n=2000000 at 40 req/s
//   k6 run -e JOB_MIX=0.9:50000,0.1:2500000 -e RATE=70 k6/balance.js
//
// Environment: BASE_URL (http://localhost:8080), JOB_MIX (share:n,... shares summing to 1),
// RATE (40), DURATION (30s), VUS (100), P95_MS (500) / P99_MS (1000), SUMMARY_JSON
// (k6-summary.json).
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { apiThresholds, env, expectedBody, num, seconds } from './lib/config.js';
import { countReplica, discover, slotThresholds } from './lib/replicas.js';
import { buildResult, textReport, value } from './lib/summary.js';

// "0.8:100000,0.2:2000000" -> [{ share, n, label }], smallest job first.
export function parseMix(text) {
  const jobs = String(text).split(',').map((part) => {
    const match = /^\s*(\d*\.?\d+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`JOB_MIX part "${part}" is not share:n, e.g. 0.8:100000`);
    return { share: Number(match[1]), n: Number(match[2]) };
  }).sort((a, b) => a.n - b.n);
  const total = jobs.reduce((sum, j) => sum + j.share, 0);
  if (Math.abs(total - 1) > 1e-6) throw new Error(`JOB_MIX shares add up to ${total}, not 1: ${text}`);
  if (new Set(jobs.map((j) => j.n)).size !== jobs.length) throw new Error(`JOB_MIX names a size twice: ${text}`);
  return jobs.map((j, i) => ({ ...j, label: i === 0 ? 'small' : i === jobs.length - 1 ? 'large' : `n${j.n}` }));
}

// The k-th request's job, drawn from a hash of k: as random as real traffic (a regular
// pattern would fall in step with round-robin's turns and flatter it), yet the same
// sequence in every run, so two runs at one rate differ only in the server.
export function uniform(k) {
  let x = (k + 0x9e3779b9) >>> 0;  // mulberry32's mix: https://gist.github.com/tommyettinger/46a874533244883189143505d203312c
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
}

export function pick(jobs, k) {
  const u = uniform(k);
  let edge = 0;
  for (const job of jobs) {
    edge += job.share;
    if (u < edge) return job;
  }
  return jobs[jobs.length - 1];
}

const config = {
  baseUrl: env('BASE_URL', 'http://localhost:8080').replace(/\/+$/, ''),
  mix: env('JOB_MIX', '0.8:100000,0.2:2000000'),
  rate: num('RATE', 40),
  duration: env('DURATION', '30s'),
  vus: Math.round(num('VUS', 100)),
  p95Ms: num('P95_MS', 500),
  p99Ms: num('P99_MS', 1000),
};
const JOBS = parseMix(config.mix);

// Requests every replica refused (503 after nginx tried each): load shed, not a crash.
const shed = new Counter('shed_503');

const perJob = {};
for (const job of JOBS) {
  perJob[`http_req_duration{job:${job.label}}`] = [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`];
  perJob[`http_req_failed{job:${job.label}}`] = ['rate==0'];
}

export const options = {
  scenarios: {
    mixed: {
      executor: 'constant-arrival-rate', rate: config.rate, timeUnit: '1s', duration: config.duration,
      preAllocatedVUs: config.vus, maxVUs: config.vus, gracefulStop: '10s',
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  thresholds: { ...apiThresholds(config.p95Ms, config.p99Ms), shed_503: ['count>=0'], ...perJob, ...slotThresholds() },
};

export function setup() {
  const started = Date.now();
  const replicas = discover(config.baseUrl);
  const mix = JOBS.map((j) => `${(j.share * 100).toFixed(0)}% n=${j.n} (${j.label})`).join(', ');
  console.log(`mixed: ${config.baseUrl}/api, ${mix}, ${config.rate} req/s; ${replicas.length} replica(s): ${replicas.join(', ')}`);
  return { replicas, setupMs: Date.now() - started };
}

export default function (data) {
  const job = pick(JOBS, exec.scenario.iterationInTest);
  const path = `/api?n=${job.n}`;
  const tags = { endpoint: 'api', job: job.label, name: `${config.baseUrl}/api?n=${job.n}` };
  const res = http.get(`${config.baseUrl}${path}`, { tags });
  if (res.status === 503) shed.add(1, tags);
  const body = expectedBody(path);
  check(res, { 'the status is 200': (r) => r.status === 200, [`the body is the sum for n=${job.n}`]: (r) => r.body === body }, tags);
  countReplica(res, data.replicas);
}

export function handleSummary(data) {
  const result = buildResult(data);
  result.job_mix = config.mix;
  result.offered_rate = config.rate;
  result.duration_s = seconds(config.duration);
  result.concurrency = config.vus;
  result.shed_503 = value(data, 'shed_503', 'count');
  result.jobs = JOBS.map((job) => {
    const t = `http_req_duration{job:${job.label}}`;
    const f = `http_req_failed{job:${job.label}}`;
    return {
      label: job.label, n: job.n, share: job.share,
      completed: value(data, f, 'passes') + value(data, f, 'fails'), failed: value(data, f, 'passes'),
      p50_ms: value(data, t, 'med'), p95_ms: value(data, t, 'p(95)'), p99_ms: value(data, t, 'p(99)'),
      max_ms: value(data, t, 'max'),
    };
  });
  const lines = result.jobs.map((j) => `  ${`${j.label} (n=${j.n}):`.padEnd(22)}p50 / p95 / p99 `
    + `${j.p50_ms.toFixed(1)} / ${j.p95_ms.toFixed(1)} / ${j.p99_ms.toFixed(1)} ms, ${j.failed} failed of ${j.completed}`);
  return {
    stdout: `${textReport(result)}  Shed (503):           ${result.shed_503}\nPer job size\n${lines.join('\n')}\n`,
    [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(result, null, 2),
  };
}
