/**
 * The ddbkit command line: one file per command under commands/, all sharing this entry point,
 * which maps errors to the documented exit codes.
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../util/package.js';
import { registerDemo } from './commands/demo.js';
import { registerDeploy } from './commands/deploy.js';
import { registerLoadTest } from './commands/loadtest.js';
import { registerQuery } from './commands/query.js';
import { registerRecover } from './commands/recover.js';
import { registerReport } from './commands/report.js';
import { registerShell } from './commands/shell.js';
import { registerScripts } from './commands/scripts.js';
import { registerStatus } from './commands/status.js';
import { registerSync } from './commands/sync.js';
import { registerVerify } from './commands/verify.js';
import { registerValidate } from './commands/validate.js';
import { reportError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { type Io, processIo } from './io.js';

export function buildProgram(io: Io): Command {
  const program = new Command('ddbkit')
    .description('Design, validate, deploy and query distributed heterogeneous relational databases')
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerValidate(program, io);
  registerScripts(program, io);
  registerDeploy(program, io);
  registerVerify(program, io);
  registerStatus(program, io);
  registerSync(program, io);
  registerQuery(program, io);
  registerRecover(program, io);
  registerReport(program, io);
  registerShell(program, io);
  registerLoadTest(program, io);
  registerDemo(program, io);
  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return io.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with code 0; usage mistakes with a message already printed.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.unusable;
    }
    return reportError(e, io.stderr);
  }
}
