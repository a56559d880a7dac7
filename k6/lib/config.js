// Settings from __ENV with defaults, and the named scenarios built from them.
// Defaults are the article's test: 150 req/s for 20 s with 10 VUs (concurrency 10).

const env = (name, fallback) => (__ENV[name] === undefined || __ENV[name] === '' ? fallback : __ENV[name]);
const num = (name, fallback) => {
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
  // capacity scenario: rates START_RATE, START_RATE+STEP_RATE, ... up to MAX_RATE
  startRate: num('START_RATE', 10),
  stepRate: num('STEP_RATE', 10),
  maxRate: num('MAX_RATE', Number(env('RATE', 150))),
  stepDuration: env('STEP_DURATION', '10s'),
  smokeRequests: Math.round(num('SMOKE_REQUESTS', 5)),
};
config.durationS = seconds(config.duration);
config.expectedBody = expectedBody(config.path);

// What /api answers for the n in API_PATH (default 7^7, the article's job): the sum of
// i from n down to 0. Exact in a JS number: n is at most 10^7 (API_MAX_N), the sum ~5e13.
function expectedBody(path) {
  const match = /[?&]n=(\d+)(?:&|$)/.exec(path);
  const n = match ? Number(match[1]) : 7 ** 7;
  return `Result number is ${(n * (n + 1)) / 2}`;
}

export function capacitySteps() {
  const steps = [];
  for (let rate = config.startRate; rate <= config.maxRate; rate += config.stepRate) steps.push(Math.round(rate));
  return steps;
}

function capacityScenario() {
  // Hold each rate for STEP_DURATION after a 1 s ramp, so every step is a plateau.
  const hold = Math.max(seconds(config.stepDuration) - 1, 1);
  const stages = capacitySteps().flatMap((rate) => [
    { target: rate, duration: '1s' },
    { target: rate, duration: `${hold}s` },
  ]);
  return {
    executor: 'ramping-arrival-rate', startRate: config.startRate, timeUnit: '1s',
    preAllocatedVUs: config.vus, maxVUs: config.vus, stages, gracefulStop: '10s',
  };
}

const builders = {
  // Open model: requests arrive at RATE whether or not earlier ones finished, so an
  // overloaded server shows up as latency, errors and dropped iterations, never hidden.
  load: () => ({
    executor: 'constant-arrival-rate', rate: config.rate, timeUnit: '1s', duration: config.duration,
    preAllocatedVUs: config.vus, maxVUs: config.vus, gracefulStop: '10s',
  }),
  capacity: capacityScenario,
  smoke: () => ({ executor: 'shared-iterations', vus: 1, iterations: config.smokeRequests, maxDuration: '30s' }),
};

export function scenarios() {
  const build = builders[config.scenario];
  if (!build) {
    throw new Error(`SCENARIO=${config.scenario} is unknown; use one of ${Object.keys(builders).join(', ')}`);
  }
  return { [config.scenario]: build() };
}
