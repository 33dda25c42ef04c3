import type { Command } from 'commander';
import pc from 'picocolors';
import { type DeployResult, deploy } from '../../deploy/deploy.js';
import { loadDesign } from '../../design/load.js';
import { openSource } from '../../engines/source.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { deployProgress } from '../progress.js';
import { formatVerification } from './verify.js';

export function registerDeploy(program: Command, io: Io): void {
  program
    .command('deploy')
    .description('create the fragments on every site, move the data from the source, build the decision site views, and verify')
    .argument('<design>', 'the design file')
    .option('--dry-run', 'print the plan per site and change nothing')
    .option('--force', 'deploy even if validation finds the design invalid')
    .option('--no-verify', 'skip the verification after loading')
    .option('--json', 'print the result as JSON')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(
      async (file: string, opts: { dryRun?: boolean; force?: boolean; verify: boolean; json?: boolean; sitesDir?: string }) => {
        const design = await loadDesign(file);
        const source = await openSource(design.source, design.dir);
        try {
          if (!opts.json) io.stdout(`Deploying ${pc.bold(design.name)} from ${source.description}\n`);
          const result = await deploy(design, source, {
            dryRun: Boolean(opts.dryRun),
            force: Boolean(opts.force),
            verify: opts.verify,
            ...(opts.sitesDir ? { sitesDir: opts.sitesDir } : {}),
            ...(opts.json ? {} : { progress: deployProgress(io) }),
          });
          if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
          else io.stdout(formatDeploy(result));
          io.exitCode = result.verification && !result.verification.ok ? ExitCode.failed : ExitCode.ok;
        } finally {
          await source.close();
        }
      },
    );
}

export function formatDeploy(result: DeployResult): string {
  const out: string[] = [];
  if (result.dryRun) {
    out.push(pc.bold('Plan (dry run: nothing is changed)'));
    for (const site of result.plan) {
      out.push(`${pc.cyan(site.site)} (${site.engine}${site.decision ? ', decision site' : ''})`);
      for (const t of site.tables) {
        out.push(`  create ${t.table} and load ${t.rows.toLocaleString('en')} rows of ${t.fragment}`);
        for (const ddl of t.ddl) out.push(pc.dim(ddl.replace(/^/gm, '      ')));
      }
      if (site.views.length) out.push(`  views rebuilding ${site.views.join(', ')}`);
    }
    return `${out.join('\n')}\n`;
  }
  const rows = result.loaded.reduce((n, l) => n + (l.action === 'unchanged' ? 0 : l.rows), 0);
  out.push(
    `${result.loaded.length} fragment tables on ${result.plan.length} sites: ${result.loaded.filter((l) => l.action === 'created').length} created, ${result.loaded.filter((l) => l.action === 'refilled').length} refilled, ${result.loaded.filter((l) => l.action === 'unchanged').length} already up to date; ${rows.toLocaleString('en')} rows moved`,
  );
  if (result.views.length) out.push(`views at ${result.views[0]!.site}: ${result.views.map((v) => v.view).join(', ')}`);
  if (result.verification) out.push(formatVerification(result.verification));
  return `${out.join('\n')}\n`;
}
