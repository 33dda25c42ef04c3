import type { Command } from 'commander';
import pc from 'picocolors';
import { openSites } from '../../deploy/sites.js';
import { type VerificationReport, verifyDeployment } from '../../deploy/verify.js';
import { loadDesign } from '../../design/load.js';
import { resolveDesign } from '../../design/resolve.js';
import { openSource } from '../../engines/source.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export function formatVerification(v: VerificationReport): string {
  const out: string[] = [pc.bold('Verification (row counts and order-independent checksums against the source)')];
  for (const f of v.fragments) {
    const mark = f.ok ? pc.green('✓') : pc.red('✗');
    out.push(
      `  ${mark} ${f.fragment.padEnd(22)} at ${f.site.padEnd(10)} ${String(f.site_rows.rows).padStart(9)} rows${f.ok ? '' : ` — ${f.problem}`}`,
    );
  }
  for (const r of v.relations) {
    const mark = r.ok ? pc.green('✓') : pc.red('✗');
    out.push(
      `  ${mark} ${r.relation} rebuilt from its fragments: ${r.rebuilt.rows} rows${r.ok ? ', identical to the source' : ` — the source has ${r.source.rows} rows${r.source.rows === r.rebuilt.rows ? ' with other contents' : ''}`}`,
    );
  }
  out.push(v.ok ? pc.green(pc.bold('VERIFIED — nothing lost, nothing added')) : pc.red(pc.bold('DIFFERENCES FOUND')));
  return out.join('\n');
}

export function registerVerify(program: Command, io: Io): void {
  program
    .command('verify')
    .description('compare every fragment replica and every rebuilt relation with the source (row counts and checksums)')
    .argument('<design>', 'the design file')
    .option('--json', 'print the report as JSON')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(async (file: string, opts: { json?: boolean; sitesDir?: string }) => {
      const design = await loadDesign(file);
      const source = await openSource(design.source, design.dir);
      try {
        const resolved = resolveDesign(design, source.catalog);
        const sites = await openSites(resolved, opts.sitesDir ?? design.dir);
        try {
          const report = await verifyDeployment(resolved, source.connector, sites);
          io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVerification(report)}\n`);
          io.exitCode = report.ok ? ExitCode.ok : ExitCode.failed;
        } finally {
          await Promise.all([...sites.values()].map((c) => c.close().catch(() => {})));
        }
      } finally {
        await source.close();
      }
    });
}
