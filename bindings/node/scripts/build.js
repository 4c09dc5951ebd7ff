'use strict';
// `npm install`'s build step: CMake builds the addon from this source tree's core, against
// the headers of the node running this script, with no node-gyp and no download. The
// addon lands in build/weft.node, where index.js looks for it.
//   WEFT_HOST_INCLUDE_DIR  Node's headers (uv.h, openssl/, node_api.h); default: the
//                          include/node directory beside this node's bin/
//   WEFT_NODE_BUILD_DIR    CMake's build directory; default: build/cmake
//   CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default 2)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
const root = path.resolve(pkg, '..', '..');
const buildDir = process.env.WEFT_NODE_BUILD_DIR || path.join(pkg, 'build', 'cmake');
const outDir = path.join(pkg, 'build');
const includeDir = process.env.WEFT_HOST_INCLUDE_DIR ||
                   path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');

function fail(message) {
  console.error(`weft: ${message}`);
  process.exit(1);
}

if (!fs.existsSync(path.join(root, 'core', 'CMakeLists.txt'))) {
  fail(`the weft source tree is not at ${root}: install from a checkout of weft ` +
       '(npm install <path to weft>/bindings/node)');
}
if (!fs.existsSync(path.join(includeDir, 'uv.h')) ||
    !fs.existsSync(path.join(includeDir, 'node_api.h'))) {
  fail(`no Node headers (uv.h, node_api.h) in ${includeDir}; set WEFT_HOST_INCLUDE_DIR to ` +
       'the include/node directory of the node that will load weft');
}

function run(args) {
  const r = spawnSync('cmake', args, {
    stdio: 'inherit',
    env: { CMAKE_BUILD_PARALLEL_LEVEL: '2', ...process.env },
  });
  if (r.error) fail(`cannot run cmake: ${r.error.message}`);
  if (r.status !== 0) fail(`cmake ${args[0]} failed (exit ${r.status})`);
}

run(['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release',
     '-DWEFT_BUILD_TESTS=OFF', '-DWEFT_BUILD_BENCH=OFF', '-DWEFT_BUILD_EXAMPLES=OFF',
     '-DWEFT_BUILD_PYTHON=OFF', '-DWEFT_BUILD_HOST=ON',
     `-DWEFT_HOST_EXECUTABLE=${process.execPath}`, `-DWEFT_HOST_INCLUDE_DIR=${includeDir}`,
     `-DWEFT_NODE_OUTPUT_DIR=${outDir}`]);
run(['--build', buildDir, '--target', 'weft_node']);
console.log(`weft: built ${path.join(outDir, 'weft.node')}`);
