import type { Command } from 'commander';
import pc from 'picocolors';
import { openDistributed } from '../../query/distributed.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export function registerRecover(program: Command, io: Io): void {
  program
    .command('recover')
    .description(
      'finish two-phase commits left in doubt (a coordinator crashed): commit or roll back each prepared transaction on every site as the decision log says',
    )
    .argument('<design>', 'the design file')
    .option('--json', 'print what was done as JSON')
    .option('--sites-dir <dir>', 'where file: site URLs resolve and the decision log lives (default: the design file folder)')
    .action(async (file: string, opts: { json?: boolean; sitesDir?: string }) => {
      const db = await openDistributed(file, { ...(opts.sitesDir ? { sitesDir: opts.sitesDir } : {}), recover: false });
      try {
        const report = await db.recover();
        if (opts.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        else {
          if (report.actions.length === 0) io.stdout('no transaction in doubt\n');
          for (const a of report.actions) {
            const colour =
              a.action === 'committed' || a.action === 'already finished'
                ? pc.green
                : a.action === 'rolled back'
                  ? pc.yellow
                  : a.action === 'failed'
                    ? pc.red
                    : pc.dim;
            io.stdout(`${colour(a.action.padEnd(16))} ${a.gid} at ${a.site}: ${a.reason}\n`);
          }
          for (const u of report.unreachable)
            io.stdout(`${pc.red('unreachable')} ${u.site}: ${u.error} (run recover again later)\n`);
        }
        const unsettled = report.unreachable.length > 0 || report.actions.some((a) => a.action === 'failed');
        if (unsettled) io.exitCode = ExitCode.site;
      } finally {
        await db.close();
      }
    });
}
