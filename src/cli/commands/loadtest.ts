import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { UserError } from '../../design/errors.js';
import { reportJson, writeComparison } from '../../loadtest/chart.js';
import { type LoadTestReport, loadTest } from '../../loadtest/index.js';
import type { LatencySummary } from '../../loadtest/run.js';
import { loadWorkload } from '../../loadtest/workload.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

const n = (x: number) => x.toLocaleString('en');
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)} ms`;
const lat = (l: LatencySummary) => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`;

export function formatLoadTest(r: LoadTestReport): string {
  const run = r.run;
  const out: string[] = [];
  out.push(
    pc.bold(
      `Load test ${r.workload.name} on ${r.design.name} (${r.design.sites.map((s) => `${s.name} ${s.engine}`).join(', ')})`,
    ),
  );
  const prep = r.prepared.reset
    ? `sites brought to the source's data: ${r.prepared.created} tables created, ${r.prepared.refilled} refilled, ${r.prepared.unchanged} already equal`
    : 'run on the data as it was (--no-reset)';
  out.push(pc.dim(`  ${prep}`));
  out.push(
    `  ${run.users} users × ${run.ops} transactions (seed ${run.seed}): ${n(run.transactions)} transactions in ${run.seconds.toFixed(2)} s`,
  );
  out.push(
    `  ${pc.bold(`${run.throughput.toFixed(1)} committed tx/s`)}   committed ${n(run.committed)}   refused ${n(run.refused)}   aborted ${n(run.aborted)}   errors ${run.errors ? pc.red(n(run.errors)) : '0'}   retries ${n(run.retries)}`,
  );
  if (run.stopped) out.push(pc.red(`  stopped early: ${run.stopped}`));
  out.push(`  latency of a committed transaction (retries included): ${lat(run.latency)}`);
  const width = Math.max(11, ...run.perTransaction.map((t) => t.name.length));
  out.push(pc.dim(`  ${'transaction'.padEnd(width)}  weight  committed  refused  aborted  errors  retries       p50       p99`));
  for (const t of run.perTransaction)
    out.push(
      `  ${t.name.padEnd(width)}  ${String(t.weight).padStart(6)}  ${n(t.committed).padStart(9)}  ${n(t.refused).padStart(7)}  ${n(t.aborted).padStart(7)}  ${n(t.errors).padStart(6)}  ${n(t.retries).padStart(7)}  ${ms(t.latency.p50).padStart(8)}  ${ms(t.latency.p99).padStart(8)}`,
    );
  if (run.refusals.length) {
    out.push('  refused because:');
    for (const f of run.refusals.slice(0, 8)) out.push(`    ${f.transaction}: ${f.reason} — ${n(f.count)}×`);
  }
  if (run.errorSamples.length) {
    out.push(pc.red('  errors:'));
    for (const e of run.errorSamples) out.push(pc.red(`    ${e.transaction}: ${e.message} — ${n(e.count)}×`));
  }
  out.push(pc.bold('Checks after the run'));
  for (const c of r.checks) {
    out.push(`  ${c.ok ? pc.green('✓') : pc.red('✗')} ${c.name} — ${c.detail}`);
    for (const row of c.rows ?? []) out.push(pc.red(`      ${JSON.stringify(row)}`));
  }
  out.push(
    r.ok
      ? pc.green(pc.bold('PASSED — every invariant holds, nothing lost, replicas identical'))
      : pc.red(pc.bold(`FAILED${run.errors ? ` — ${n(run.errors)} transactions failed with an error` : ''}`)),
  );
  return `${out.join('\n')}\n`;
}

function positiveInt(value: string, flag: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 1) throw new UserError(`${flag} must be a whole number above 0, not ${value}`);
  return x;
}

export function registerLoadTest(program: Command, io: Io): void {
  program
    .command('loadtest')
    .description(
      'run a workload of weighted transactions with N concurrent users; report throughput, latency, aborts and retries, then check the invariants',
    )
    .argument('<design>', 'the design file')
    .requiredOption('-w, --workload <file>', 'the workload file (YAML)')
    .option('--users <n>', 'concurrent virtual users', '100')
    .option('--ops <n>', 'transactions per user', '100')
    .option('--seed <n>', 'random seed (the same seed draws the same transactions)', '1')
    .option('--max-attempts <n>', 'attempts of a transaction failing with a retryable error before it counts as aborted', '10')
    .option('--sessions <n>', 'sessions per site the distributed database may open (default 16)')
    .option('--compare <designs...>', 'run the same workload on these designs too and draw the comparison chart')
    .option('--out <dir>', 'with --compare: where the chart (SVG, PNG), index.html and loadtest.json go', 'loadtest-report')
    .option('--no-reset', "run on the sites' data as it is instead of bringing every site back to the source's data first")
    .option('--format <format>', 'table or json', 'table')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: each design file folder)')
    .action(
      async (
        file: string,
        opts: {
          workload: string;
          users: string;
          ops: string;
          seed: string;
          maxAttempts: string;
          sessions?: string;
          compare?: string[];
          out: string;
          reset: boolean;
          format: string;
          sitesDir?: string;
        },
      ) => {
        if (!['table', 'json'].includes(opts.format)) throw new UserError(`unknown --format ${opts.format}: use table or json`);
        const users = positiveInt(opts.users, '--users');
        const ops = positiveInt(opts.ops, '--ops');
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed)) throw new UserError(`--seed must be a whole number, not ${opts.seed}`);
        const maxAttempts = positiveInt(opts.maxAttempts, '--max-attempts');
        const sessions = opts.sessions === undefined ? undefined : positiveInt(opts.sessions, '--sessions');
        const workload = await loadWorkload(opts.workload);
        const json = opts.format === 'json';
        const note = (t: string) => {
          if (!json) io.stderr(pc.dim(`${t}\n`));
        };
        const designs = [file, ...(opts.compare ?? [])];
        const reports: LoadTestReport[] = [];
        for (const d of designs) {
          let lastShown = 0;
          const report = await loadTest(d, workload, {
            users,
            ops,
            seed,
            maxAttempts,
            ...(sessions ? { sessions } : {}),
            reset: opts.reset,
            ...(opts.sitesDir ? { sitesDir: opts.sitesDir } : {}),
            note,
            onProgress: (done, total) => {
              if (json || !process.stderr.isTTY) return;
              const now = performance.now();
              if (now - lastShown < 250 && done < total) return;
              lastShown = now;
              io.stderr(`\r  ${done}/${total} transactions${done === total ? '\n' : ''}`);
            },
          });
          reports.push(report);
          if (!json) io.stdout(formatLoadTest(report));
        }
        let files: Awaited<ReturnType<typeof writeComparison>> | undefined;
        if (opts.compare) {
          files = await writeComparison(reports, path.resolve(opts.out));
          if (!json) {
            io.stdout(pc.bold('\nComparison\n'));
            for (const r of reports)
              io.stdout(
                `  ${r.design.name.padEnd(28)} ${r.design.centralized ? 'centralized' : `${r.design.sites.length} sites`.padEnd(11)}  ${r.run.throughput.toFixed(1).padStart(8)} tx/s  ${lat(r.run.latency)}\n`,
              );
            io.stdout(
              `chart: ${files.svg}${files.png ? `, ${files.png}` : ` (no PNG: ${files.pngUnavailable})`}\npage:  ${files.html}\n`,
            );
          }
        }
        if (json) {
          const body = reports.map(reportJson);
          io.stdout(`${JSON.stringify(files ? { reports: body, files } : body.length === 1 ? body[0] : body, null, 2)}\n`);
        }
        io.exitCode = reports.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
      },
    );
}
