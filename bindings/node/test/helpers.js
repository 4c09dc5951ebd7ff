'use strict';
// Shared by the tests: runs a script in a fresh node process with the same addon.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const weftPath = path.join(__dirname, '..', 'index.js');

// Runs `source` (with `weft` already required) and returns { status, signal, stdout, stderr }.
// There is no time limit here: a process that never exits is caught by ctest's timeout.
function runScript(source) {
  const prelude = `const weft = require(${JSON.stringify(weftPath)});\n`;
  return spawnSync(process.execPath, ['-e', prelude + source], { encoding: 'utf8' });
}

module.exports = { runScript, weftPath };
