#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the package's `prepare` script).
import { main } from '../dist/cli/main.js';

// `ddbkit … | head` closes our stdout early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
