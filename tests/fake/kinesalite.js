// kinesalite.js -- kinesalite (a real Kinesis implementation, npm) on loopback.
//
//   node tests/fake/kinesalite.js [--port N]     prints "PORT <n>" when listening
//
// In memory, streams ready at once (no CREATING/UPDATING delay), room for the
// shards of the resharding tests. The package comes from tools/node
// (tools/setup.sh installs it there).
"use strict";
const path = require("path");
const kinesalite = require(path.join(__dirname, "..", "..", "tools", "node", "node_modules", "kinesalite"));

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
const at = process.argv.indexOf("--port");
server.listen(at > 0 ? Number(process.argv[at + 1]) : 0, "127.0.0.1", () => {
  process.stdout.write("PORT " + server.address().port + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
