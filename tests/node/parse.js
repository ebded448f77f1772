// Read podcast feeds with Podcast Index's parser (podcast-partytime), as its index and apps using it do:
// node parse.js FEED... prints, per feed, what it made of the show and its episodes (JSON), or null.
"use strict";
const fs = require("fs");
const { parseFeed } = require("podcast-partytime");

const out = {};
for (const path of process.argv.slice(2)) {
  out[path] = parseFeed(fs.readFileSync(path, "utf8"), { allowMissingGuid: false }) || null;
}
process.stdout.write(JSON.stringify(out));
