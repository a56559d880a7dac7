// The seed article's system, as a yardstick beside the Python replicas: an Express app
// whose /api sums i from 7^7 down to 0, run in Node's cluster mode (one worker per core).
//
//   WORKERS  number of worker processes; unset or empty: one per core
//   PORT     where the workers listen (default 3000)
//
// Beyond the article, only what running it in a container needs: an X-Worker header (the
// pid of the worker that answered), one log line per worker start, and a clean exit on
// SIGTERM/SIGINT (workers finish their requests, the primary exits 0).
"use strict";

const cluster = require("node:cluster");
const os = require("node:os");

const port = Number(process.env.PORT || 3000);
// How long the workers get to finish their requests on SIGTERM before they are killed.
const STOP_TIMEOUT_MS = 5000;

function workerCount() {
  const raw = (process.env.WORKERS || "").trim();
  if (raw === "") return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`WORKERS must be a whole number >= 1 (or empty for one per core), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function primary() {
  const total = workerCount();
  let stopping = false;
  console.log(`Number of workers is ${total}`);
  console.log(`Primary ${process.pid} is running`);

  for (let i = 0; i < total; i++) cluster.fork();

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) {
        console.log(`Primary ${process.pid}: all workers stopped, exiting`);
        process.exit(); // 0, or the exitCode set below
      }
      return;
    }
    console.log(`worker ${worker.process.pid} died (${signal || `exit code ${code}`})`);
    // A worker that never got to listen (a bad PORT, a syntax error) would die again at
    // once: stop instead of forking in a tight loop.
    if (!worker.listened) {
      console.error(`worker ${worker.process.pid} died before it listened on port ${port}: stopping`);
      stopping = true;
      for (const other of Object.values(cluster.workers)) other.kill();
      process.exitCode = 1;
      return;
    }
    console.log("Let's fork another worker!");
    cluster.fork();
  });
  cluster.on("listening", (worker) => { worker.listened = true; });

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    const left = Object.values(cluster.workers);
    console.log(`Primary ${process.pid} got ${signal}: stopping ${left.length} workers`);
    if (left.length === 0) process.exit();
    for (const worker of left) worker.process.kill("SIGTERM");
    setTimeout(() => {
      console.error(`workers still running after ${STOP_TIMEOUT_MS} ms: killing them`);
      for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGKILL");
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

const MAX_N = 10000000;

function worker() {
  const express = require("express");
  const app = express();

  // Which worker answered: the only addition to the article's responses.
  app.use((req, res, next) => {
    res.set("X-Worker", String(process.pid));
    next();
  });

  app.get("/", (req, res) => {
    res.send("Hello World!");
  });

  // Beyond the article, `?n=` sizes the job as the Python service's does, so that the same
  // mixed-size load (make bench-balance) runs against this yardstick too. Without it: the
  // article's 7^7. The bound is the service's API_MAX_N default (tests/reference/test_node_files.py).
  app.get("/api", (req, res) => {
    const raw = req.query.n;
    if (raw !== undefined && !(typeof raw === "string" && /^\d{1,8}$/.test(raw) && Number(raw) <= MAX_N)) {
      res.status(422).json({ detail: `n must be a whole number from 0 to ${MAX_N}` });
      return;
    }
    let result = 0;
    for (let i = raw === undefined ? Math.pow(7, 7) : Number(raw); i >= 0; i--) {
      result += i;
    }
    res.send(`Result number is ${result}`);
  });

  const server = app.listen(port, () => {
    console.log(`Worker ${cluster.worker.id} (pid ${process.pid}) started, listening on port ${port}`);
  });

  // From the primary's stop (or a plain `kill PID`): finish the requests in flight, close
  // idle keep-alive connections, exit 0. A worker that exits while the primary is not
  // stopping is replaced.
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  };
  process.on("SIGTERM", stop);
  // Ctrl-C in a terminal reaches every process of the group: the primary stops the workers.
  process.on("SIGINT", () => {});
}

if (cluster.isPrimary) primary();
else worker();
