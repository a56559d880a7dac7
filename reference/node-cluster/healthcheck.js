// Docker HEALTHCHECK probe: exit 0 when GET / answers 200, else 1 (no curl in slim images).
"use strict";

const http = require("node:http");

const port = Number(process.env.PORT || 3000);
const request = http.get({ host: "127.0.0.1", port, path: "/", timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
request.on("timeout", () => request.destroy(new Error("no answer within 2 s")));
request.on("error", (err) => {
  console.error(`healthcheck failed: ${err.message}`);
  process.exit(1);
});
