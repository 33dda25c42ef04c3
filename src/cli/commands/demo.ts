import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { deploy } from '../../deploy/deploy.js';
import { loadDesign } from '../../design/load.js';
import { openSource } from '../../engines/source.js';
import { packageRoot } from '../../util/package.js';
import { formatReport } from '../../validate/format.js';
import { validateWithSource } from '../../validate/run.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { deployProgress } from '../progress.js';
import { formatDeploy } from './deploy.js';

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

export function registerDemo(program: Command, io: Io): void {
  program
    .command('demo')
    .description(
      'validate the two shipped examples, then deploy the e-commerce one onto PGlite, SQLite and DuckDB sites and verify it',
    )
    .option('--dir <dir>', 'where the demo sites are created (default: a new temporary folder)')
    .action(async (opts: { dir?: string }) => {
      const started = performance.now();
      const examples = path.join(packageRoot(), 'examples');
      const heading = (t: string) => io.stdout(`${pc.bold(pc.magenta(`══ ${t} ══`))}\n\n`);
      let ok = true;

      // 1. The paper's library: a valid design, and the broken one of its Table VII.
      heading('1. University library (the DDB-Helper paper): validation');
      const library = await loadDesign(path.join(examples, 'library/design.yaml'));
      const librarySource = await openSource(library.source, library.dir);
      try {
        for (const file of ['library/design.yaml', 'library/design-broken.yaml']) {
          const design = await loadDesign(path.join(examples, file));
          const { report } = await validateWithSource(design, librarySource, { data: true });
          io.stdout(`${formatReport(report, pc.bold(`Design ${design.name} (examples/${file})`))}\n\n`);
          // The broken variant must fail exactly as the paper's trace does; the other must pass.
          if (report.valid === file.includes('broken')) ok = false;
        }
      } finally {
        await librarySource.close();
      }

      // 2. The e-commerce exercise: validate, deploy onto three embedded engines, verify.
      heading('2. Kenyan e-commerce: validate, deploy onto PGlite + SQLite + DuckDB, verify');
      const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ddbkit-demo-'))));
      const shop = await loadDesign(path.join(examples, 'ecommerce/design.yaml'));
      const shopSource = await openSource(shop.source, shop.dir);
      try {
        const { report } = await validateWithSource(shop, shopSource, { data: true });
        io.stdout(`${formatReport(report, pc.bold(`Design ${shop.name} (examples/ecommerce/design.yaml)`))}\n\n`);
        if (!report.valid) ok = false;
        io.stdout(`${pc.bold('Deploying')} into ${dir}\n`);
        const result = await deploy(shop, shopSource, { sitesDir: dir, progress: deployProgress(io) });
        io.stdout(`${formatDeploy(result)}\n`);
        if (!result.verification?.ok) ok = false;
        io.stdout(`${pc.bold('Sites')} (file URLs of the design, resolved in ${dir}):\n`);
        for (const site of shop.sites) {
          const where = site.url.startsWith('file:') ? path.resolve(dir, site.url.slice(5)) : site.url;
          const tables = result.loaded.filter((l) => l.site === site.name);
          io.stdout(
            `  ${pc.cyan(site.name.padEnd(8))} ${site.engine.padEnd(7)} ${where}  ${pc.dim(`${tables.length} tables, ${tables.reduce((n, t) => n + t.rows, 0).toLocaleString('en')} rows`)}\n`,
          );
        }
      } finally {
        await shopSource.close();
      }
      io.stdout(
        `\n${ok ? pc.green(pc.bold('Demo complete')) : pc.red(pc.bold('Demo found a problem'))} in ${seconds(started)}.\n`,
      );
      const design = 'examples/ecommerce/design.yaml';
      io.stdout(
        [
          'Next, on this deployment:',
          `  ${pc.cyan(`npx ddbkit report ${design} sales-by-payment-method --sites-dir ${dir}`)}`,
          `  ${pc.cyan(`npx ddbkit query ${design} --sites-dir ${dir} --explain "SELECT * FROM orders WHERE region = 'MSA'"`)}`,
          `  ${pc.cyan(`npx ddbkit shell ${design} --sites-dir ${dir}`)}`,
          `or: ${pc.cyan('npx ddbkit validate examples/library/design.yaml --data')}, ${pc.cyan(`npx ddbkit scripts ${design} --out scripts/`)}`,
          '',
        ].join('\n'),
      );
      io.exitCode = ok ? ExitCode.ok : ExitCode.failed;
    });
}
