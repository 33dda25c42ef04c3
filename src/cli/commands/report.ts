import type { Command } from 'commander';
import pc from 'picocolors';
import { UserError } from '../../design/errors.js';
import { loadDesign } from '../../design/load.js';
import { openDistributed } from '../../query/distributed.js';
import { bindParameters, loadReports } from '../../query/reports.js';
import { type Format, formatRows } from '../format.js';
import type { Io } from '../io.js';

export function registerReport(program: Command, io: Io): void {
  program
    .command('report')
    .description("run one of the design's named reports against the distributed database (--list lists them)")
    .argument('<design>', 'the design file')
    .argument('[name]', 'the report to run')
    .option('--list', 'list the reports')
    .option('--param <name=value...>', 'a report parameter (repeatable)')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(
      async (
        file: string,
        name: string | undefined,
        opts: { list?: boolean; param?: string[]; format: string; sitesDir?: string },
      ) => {
        const design = await loadDesign(file);
        const reports = await loadReports(design);
        if (opts.list || !name) {
          if (reports.length === 0) io.stdout('This design names no reports file (add `reports: ./reports.yaml`).\n');
          for (const r of reports)
            io.stdout(
              `${pc.cyan(r.name.padEnd(34))} ${r.title}${r.params.length ? pc.dim(` (--param ${r.params.map((p) => `${p}=…`).join(' --param ')})`) : ''}\n`,
            );
          return;
        }
        const report = reports.find((r) => r.name === name);
        if (!report) throw new UserError(`no report named ${name}; the design has: ${reports.map((r) => r.name).join(', ')}`);
        const format = opts.format as Format;
        if (!['table', 'json', 'csv'].includes(format))
          throw new UserError(`unknown --format ${opts.format}: use table, json or csv`);
        const values = Object.fromEntries(
          (opts.param ?? []).map((p) => {
            const i = p.indexOf('=');
            if (i <= 0) throw new UserError(`--param ${p}: write it as name=value`);
            return [p.slice(0, i), p.slice(i + 1)];
          }),
        );
        const sql = bindParameters(report, values);
        const db = await openDistributed(file, opts.sitesDir ? { sitesDir: opts.sitesDir } : {});
        try {
          const result = await db.query(sql);
          if (format === 'table') io.stdout(`${pc.bold(report.title)}\n`);
          io.stdout(formatRows(result.columns, result.families, result.rows, format));
        } finally {
          await db.close();
        }
      },
    );
}
