// Settings from __ENV with defaults, and the named scenarios built from them.
// Defaults are the article's test: 150 req/s for 20 s with 10 VUs (concurrency 10).

export const env = (name, fallback) => (__ENV[name] === undefined || __ENV[name] === '' ? fallback : __ENV[name]);
export const num = (name, fallback) => {
  const value = Number(env(name, fallback));
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name}=${__ENV[name]} is not a positive number; set it to e.g. ${fallback} or unset it`);
  }
  return value;
};

export function seconds(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!match) throw new Error(`duration ${text} is not like 20s, 1m or 500ms`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] || 's'];
  return Number(match[1]) * unit;
}

export const config = {
  baseUrl: env('BASE_URL', 'http://localhost:8080').replace(/\/+$/, ''),
  path: env('API_PATH', '/api'),
  scenario: env('SCENARIO', 'load'),
  rate: num('RATE', 150),
  duration: env('DURATION', '20s'),
  vus: Math.round(num('VUS', 10)),
  p95Ms: num('P95_MS', 500),
  p99Ms: num('P99_MS', 1000),
  smokeRequests: Math.round(num('SMOKE_REQUESTS', 5)),
};
config.durationS = seconds(config.duration);
config.expectedBody = expectedBody(config.path);

// What a 200 must say: /api sums i from n down to 0 (n defaults to the article's 7^7);
// exact in a JS number, as n is at most 10^7 (API_MAX_N) and the sum ~5e13. Any other
// path (/ for the proxy's own cost) is only checked for its status.
export function expectedBody(path) {
  if (!/^\/api(\?|$)/.test(path)) return null;
  const match = /[?&]n=(\d+)(?:&|$)/.exec(path);
  const n = match ? Number(match[1]) : 7 ** 7;
  return `Result number is ${(n * (n + 1)) / 2}`;
}

const builders = {
  // Open model: requests arrive at RATE whether or not earlier ones finished, so an
  // overloaded server shows up as latency, errors and dropped iterations, never hidden.
  load: () => ({
    executor: 'constant-arrival-rate', rate: config.rate, timeUnit: '1s', duration: config.duration,
    preAllocatedVUs: config.vus, maxVUs: config.vus, gracefulStop: '10s',
  }),
  smoke: () => ({ executor: 'shared-iterations', vus: 1, iterations: config.smokeRequests, maxDuration: '30s' }),
};

// The pass/fail rules of every /api load: a 503 (a replica shedding load) is an error, and
// so is an iteration k6 could not start. The count>=0 rule only makes k6 report the metric.
export function apiThresholds(p95Ms, p99Ms) {
  return {
    'http_req_failed{endpoint:api}': ['rate==0'],
    'http_req_duration{endpoint:api}': [`p(95)<${p95Ms}`, `p(99)<${p99Ms}`],
    dropped_iterations: ['count==0'],
    checks: ['rate==1'],
    'http_reqs{endpoint:api}': ['count>=0'],
  };
}

export function scenarios() {
  const build = builders[config.scenario];
  if (!build) {
    throw new Error(`SCENARIO=${config.scenario} is unknown; use one of ${Object.keys(builders).join(', ')}`);
  }
  return { [config.scenario]: build() };
}
