import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { loadDesign } from '../../design/load.js';
import { openSource } from '../../engines/source.js';
import { packageRoot } from '../../util/package.js';
import { formatReport } from '../../validate/format.js';
import { validateWithSource } from '../../validate/run.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

/** The shipped examples: a valid design each, and the paper's broken variant of the library. */
const EXAMPLES = [
  { title: 'University library (the DDB-Helper paper)', designs: ['library/design.yaml', 'library/design-broken.yaml'] },
  { title: 'Kenyan e-commerce (three regions)', designs: ['ecommerce/design.yaml'] },
];

export function registerDemo(program: Command, io: Io): void {
  program
    .command('demo')
    .description('validate the two shipped examples on embedded engines and print their traces')
    .action(async () => {
      const examples = path.join(packageRoot(), 'examples');
      let unexpected = 0;
      for (const example of EXAMPLES) {
        io.stdout(`${pc.bold(pc.magenta(`══ ${example.title} ══`))}\n\n`);
        const first = await loadDesign(path.join(examples, example.designs[0]!));
        const started = performance.now();
        const source = await openSource(first.source, first.dir);
        io.stdout(pc.dim(`source ${source.description} loaded in ${((performance.now() - started) / 1000).toFixed(1)} s\n\n`));
        try {
          for (const rel of example.designs) {
            const file = path.join(examples, rel);
            const design = await loadDesign(file);
            const { report } = await validateWithSource(design, source, { data: true });
            const shown = path.relative(process.cwd(), file) || file;
            io.stdout(`${formatReport(report, pc.bold(`Design ${design.name} (${shown})`))}\n\n`);
            // The broken variant is meant to fail, exactly as the paper's Table VII does.
            if (report.valid === rel.includes('broken')) unexpected++;
          }
        } finally {
          await source.close();
        }
      }
      io.stdout(
        `Next: ${pc.cyan('npx ddbkit validate examples/library/design.yaml --data')}, or edit a design and validate it again.\n`,
      );
      io.exitCode = unexpected === 0 ? ExitCode.ok : ExitCode.failed;
    });
}
