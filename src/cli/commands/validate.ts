import type { Command } from 'commander';
import { layoutSites } from '../../deploy/layout.js';
import { formatReport } from '../../validate/format.js';
import { validateDesignFile } from '../../validate/run.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export function registerValidate(program: Command, io: Io): void {
  program
    .command('validate')
    .description(
      'check a design: reconstruction, completeness and disjointness, proven on the predicates (and with --data counted on the rows)',
    )
    .argument('<design>', 'the design file (YAML or JSON)')
    .option('--data', "also check the rules on the source's actual rows")
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { data?: boolean; json?: boolean }) => {
      const { report, source, resolved } = await validateDesignFile(file, { data: Boolean(opts.data) });
      // Every fragment's columns must fit its sites' engines without loss (a DesignError otherwise).
      layoutSites(resolved);
      if (opts.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else io.stdout(`${formatReport(report, `Validation of design ${report.design} (${file}) against ${source}`)}\n`);
      io.exitCode = report.valid ? ExitCode.ok : ExitCode.failed;
    });
}
