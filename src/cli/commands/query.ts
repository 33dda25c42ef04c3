import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import pc from 'picocolors';
import { UserError } from '../../design/errors.js';
import { type QueryPlan, openDistributed } from '../../query/distributed.js';
import type { Io } from '../io.js';
import { parseStatements } from '../../write/session.js';
import { formatStatementResult } from '../results.js';
import { type Format, formatRows } from '../format.js';

export function formatPlan(plan: QueryPlan): string {
  const out: string[] = [pc.bold('Distributed plan')];
  for (const r of plan.relations) {
    out.push(
      `  ${pc.cyan(r.relation)}: columns ${r.columns.join(', ')}; rows where ${r.predicate}; from ${r.fragments.join(', ') || 'no fragment'}`,
    );
  }
  if (plan.pruned.length) {
    out.push('  pruned:');
    for (const p of plan.pruned) out.push(`    ${p.fragment} — ${p.reason}`);
  }
  out.push('  site queries:');
  for (const q of plan.site_queries) {
    const actual = q.rows !== undefined ? pc.dim(`  (${q.rows} rows, ${q.ms} ms)`) : '';
    out.push(`    ${pc.cyan(q.site)} [${q.fragments.join(', ')}] ${q.sql}${actual}`);
  }
  out.push(`  coordinator (${plan.coordinator.engine}):`);
  for (const s of plan.coordinator.steps) out.push(`    ${s}`);
  if (plan.timings) {
    const t = plan.timings;
    out.push(
      pc.dim(
        `  timings: fetch ${t.fetch_ms.toFixed(1)} ms, rebuild ${t.rebuild_ms.toFixed(1)} ms, execute ${t.execute_ms.toFixed(1)} ms, total ${t.total_ms.toFixed(1)} ms`,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

/** One SELECT (the query engine's full path, with --explain/--analyze), or anything else (a script). */
function isSingleSelect(sql: string): boolean {
  let statements;
  try {
    statements = parseStatements(sql);
  } catch {
    return true; // the query engine reports the syntax error
  }
  return statements.length === 1 && statements[0]!.kind === 'select';
}

export function registerQuery(program: Command, io: Io): void {
  program
    .command('query')
    .description(
      'run global SQL against the distributed database as if it were the central one: SELECT, INSERT/UPDATE/DELETE, scripts with BEGIN/COMMIT',
    )
    .argument('<design>', 'the design file')
    .argument('[sql]', 'the query (or use -f)')
    .option('-f, --file <file>', 'read the query from a file')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--explain', 'print the distributed plan instead of running the query')
    .option('--analyze', 'run the query and print the plan with actual rows and times')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(
      async (
        file: string,
        sqlArg: string | undefined,
        opts: { file?: string; format: string; explain?: boolean; analyze?: boolean; sitesDir?: string },
      ) => {
        const format = opts.format as Format;
        if (!['table', 'json', 'csv'].includes(format))
          throw new UserError(`unknown --format ${opts.format}: use table, json or csv`);
        const sql = opts.file ? await readFile(opts.file, 'utf8') : sqlArg;
        if (!sql) throw new UserError('give a query, or -f FILE');
        const db = await openDistributed(file, opts.sitesDir ? { sitesDir: opts.sitesDir } : {});
        try {
          if (!isSingleSelect(sql)) {
            if (opts.explain || opts.analyze)
              throw new UserError('--explain and --analyze take one SELECT; INSERT/UPDATE/DELETE and scripts run without them');
            // Writes and scripts (BEGIN … COMMIT): one result per statement; JSON as an array of them.
            const outputs: string[] = [];
            await db.runScript(sql, (r) => {
              if (format === 'json') outputs.push(formatStatementResult(r, 'json').trim());
              else io.stdout(formatStatementResult(r, format));
            });
            if (format === 'json') io.stdout(outputs.length === 1 ? `${outputs[0]}\n` : `[${outputs.join(',\n')}]\n`);
            return;
          }
          if (opts.explain) {
            const plan = await db.explain(sql);
            io.stdout(format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
            return;
          }
          const result = await db.query(sql, { analyze: Boolean(opts.analyze) });
          if (opts.analyze && format === 'json') {
            io.stdout(
              `${JSON.stringify({ plan: result.plan, rows: JSON.parse(formatRows(result.columns, result.families, result.rows, 'json')) }, null, 2)}\n`,
            );
            return;
          }
          io.stdout(formatRows(result.columns, result.families, result.rows, format));
          if (opts.analyze) io.stdout(formatPlan(result.plan));
        } finally {
          await db.close();
        }
      },
    );
}
