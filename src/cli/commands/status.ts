import type { Command } from 'commander';
import pc from 'picocolors';
import { deploymentStatus } from '../../deploy/status.js';
import type { ReplicaLag } from '../../replication/lag.js';
import { loadDesign } from '../../design/load.js';
import { resolveDesign } from '../../design/resolve.js';
import { openSource } from '../../engines/source.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export function registerStatus(program: Command, io: Io): void {
  program
    .command('status')
    .description(
      "each site: reachable, engine and version, fragments with row counts; replicas in step or not; each async replica's lag",
    )
    .argument('<design>', 'the design file')
    .option('--json', 'print the status as JSON')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(async (file: string, opts: { json?: boolean; sitesDir?: string }) => {
      const design = await loadDesign(file);
      const source = await openSource(design.source, design.dir);
      let status;
      try {
        status = await deploymentStatus(resolveDesign(design, source.catalog), opts.sitesDir ?? design.dir);
      } finally {
        await source.close();
      }
      if (opts.json) {
        io.stdout(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        for (const s of status.sites) {
          const head = s.reachable ? pc.green('reachable') : pc.red(`unreachable: ${s.error}`);
          io.stdout(
            `${pc.bold(s.site)} (${s.engine}${s.decision ? ', decision site' : ''}) ${head}${s.version ? pc.dim(` — ${s.version}`) : ''}\n`,
          );
          for (const t of s.tables)
            io.stdout(`  ${t.fragment.padEnd(22)} ${t.present ? `${t.rows} rows` : pc.yellow('missing')}\n`);
        }
        for (const r of status.replicas) {
          const mark = r.inStep ? pc.green('✓') : r.behind ? pc.yellow('…') : pc.red('✗');
          io.stdout(`${mark} replicas of ${r.fragment} (${r.sites.join(', ')}): ${r.detail}\n`);
          for (const l of r.lag ?? []) io.stdout(`    ${formatLag(l)}\n`);
        }
      }
      const healthy =
        status.sites.every((s) => s.reachable && s.tables.every((t) => t.present)) &&
        status.replicas.every((r) => r.inStep || r.behind);
      io.exitCode = healthy ? ExitCode.ok : ExitCode.failed;
    });
}

/** One async replica's lag: outbox changes not applied (and the oldest one's age), or logical replication's WAL and replay lag. */
export function formatLag(l: ReplicaLag): string {
  const who = `${l.replica} ← ${l.primary}`;
  if (l.error) return `${who}: ${pc.red(`lag unknown: ${l.error}`)}`;
  const seconds = l.seconds === null ? 'unknown' : `${l.seconds.toFixed(1)} s`;
  if (l.mechanism === 'logical')
    return `${who} (PostgreSQL logical replication, ${l.state}): ${l.bytes} bytes of WAL not yet confirmed, replay lag ${seconds}`;
  const oldest = l.changes ? `, the oldest ${seconds} old` : '';
  return `${who} (outbox, applied by ddbkit sync): lag ${l.changes} change${l.changes === 1 ? '' : 's'}${oldest}`;
}
