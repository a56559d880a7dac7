// make bench-tls (bench/tls/): k6/api.js's load, and in its summary what the connection was:
// how many answers came over each HTTP version (proof that ALPN gave h2, or that
// GODEBUG=http2client=0 kept HTTP/1.1), and k6's mean time per request in TLS handshakes and
// in connecting (about 0 on a kept connection).
//
// Environment: api.js's, and CONNECT_TO: an address to connect to instead of BASE_URL's host
// (the name stays in the URL, so TLS checks the certificate for it), e.g. nginx's container.
import api, { options as apiOptions, setup } from './api.js';
import { config } from './lib/config.js';
import { buildResult, textReport, value } from './lib/summary.js';

const PROTOCOLS = ['HTTP/1.1', 'HTTP/2.0'];
const TIMINGS = { tls_handshaking_ms: 'http_req_tls_handshaking', connecting_ms: 'http_req_connecting' };
const host = /^\w+:\/\/([^/:]+)/.exec(config.baseUrl)[1]; // k6 has no URL class

export const options = {
  ...apiOptions,
  hosts: __ENV.CONNECT_TO ? { [host]: __ENV.CONNECT_TO } : {},
  thresholds: {
    ...apiOptions.thresholds,
    // Always true: they only make k6 report these sub-metrics (k6/lib/summary.js leaves them out).
    ...Object.fromEntries(PROTOCOLS.map((p) => [`http_reqs{endpoint:api,proto:${p}}`, ['count>=0']])),
    ...Object.fromEntries(Object.values(TIMINGS).map((m) => [`${m}{endpoint:api}`, ['avg>=0']])),
  },
};

export { setup };
export default api;

export function handleSummary(data) {
  const result = buildResult(data);
  result.protocols = Object.fromEntries(PROTOCOLS.map((p) => [p, value(data, `http_reqs{endpoint:api,proto:${p}}`, 'count')]));
  for (const [field, metric] of Object.entries(TIMINGS)) result[field] = value(data, `${metric}{endpoint:api}`, 'avg');
  const seen = Object.entries(result.protocols).map(([p, n]) => `${p} ${n}`).join(', ');
  return {
    stdout: `${textReport(result)}  Protocols:            ${seen}\n  TLS handshake (mean):  ${result.tls_handshaking_ms.toFixed(2)} ms per request\n`,
    [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(result, null, 2),
  };
}
