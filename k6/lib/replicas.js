// Count responses per replica (the X-Replica header) and measure how evenly nginx spreads them.
//
// k6 only reports a tagged sub-metric in the summary when a threshold names it, and
// thresholds are fixed before setup() runs. So setup() learns the replica names, and each
// response is tagged with its replica's index (slot) there: the slots are known up front.
import http from 'k6/http';
import { Counter } from 'k6/metrics';

export const MAX_SLOTS = 32;
export const replicaHits = new Counter('replica_hits');

// Thresholds that always pass: they only make k6 report each slot's count.
export function slotThresholds() {
  const thresholds = {};
  for (let i = 0; i < MAX_SLOTS; i++) thresholds[`replica_hits{slot:${i}}`] = ['count>=0'];
  thresholds['replica_hits{slot:other}'] = ['count>=0'];
  thresholds['replica_hits{slot:none}'] = ['count>=0'];
  return thresholds;
}

// One request at a time: nginx breaks least_conn's tie round-robin, so N replicas all answer within N
// cheap requests to "/".
export function discover(baseUrl, maxRequests = 4 * MAX_SLOTS, quietAfter = 16) {
  const names = [];
  let sinceNew = 0;
  for (let i = 0; i < maxRequests && sinceNew < quietAfter; i++) {
    const res = http.get(`${baseUrl}/`, { tags: { endpoint: 'discovery' } });
    if (res.status === 0) {
      throw new Error(`no answer from ${baseUrl}/ (${res.error}). Start the stack (make up) or set BASE_URL.`);
    }
    const name = res.headers['X-Replica'];
    sinceNew += 1;
    if (name && !names.includes(name) && names.length < MAX_SLOTS) {
      names.push(name);
      sinceNew = 0;
    }
  }
  return names;
}

export function countReplica(res, names) {
  const name = res.headers['X-Replica'];
  const index = name ? names.indexOf(name) : -1;
  const slot = !name ? 'none' : index >= 0 ? String(index) : 'other';
  replicaHits.add(1, { slot });
}

// Per-replica counts from the summary data, and the max/min share between replicas.
export function replicaSpread(metrics, names) {
  const count = (slot) => {
    const metric = metrics[`replica_hits{slot:${slot}}`];
    return metric ? metric.values.count : 0;
  };
  const counts = {};
  names.forEach((name, i) => { counts[name] = count(i); });
  const values = Object.values(counts);
  const max = values.length ? Math.max(...values) : 0;
  const min = values.length ? Math.min(...values) : 0;
  return { counts, without_replica: count('none'), max_min_ratio: min > 0 ? max / min : null };
}
