import type { Command } from 'commander';
import pc from 'picocolors';
import { UserError } from '../../design/errors.js';
import { loadDesign } from '../../design/load.js';
import { type ResolvedDesign, resolveDesign } from '../../design/resolve.js';
import { type SiteConnector, openConnector } from '../../engines/connector.js';
import { openSource } from '../../engines/source.js';
import { replicaLinks } from '../../replication/plan.js';
import { type PairSync, type SyncReport, syncReplicas } from '../../replication/sync.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

function formatPair(p: PairSync): string {
  const head = `${p.replica} ← ${p.primary}`.padEnd(24);
  if (p.mechanism === 'logical')
    return `  ${head} ${p.fragments.join(', ')}: PostgreSQL logical replication applies the changes itself (\`ddbkit status\` shows its lag)`;
  const what =
    p.changes === 0
      ? 'nothing to apply'
      : `${p.changes} change${p.changes === 1 ? '' : 's'} applied (${p.upserts} upserted, ${p.deletes} deleted rows)`;
  return `  ${head} ${p.fragments.join(', ')}: ${what}; at seq ${p.seq} (${p.seconds.toFixed(2)} s)`;
}

export function formatSync(report: SyncReport): string {
  const lines = report.pairs.map(formatPair);
  const pruned = Object.entries(report.pruned).filter(([, n]) => n > 0);
  if (pruned.length) lines.push(pc.dim(`  outbox: removed ${pruned.map(([s, n]) => `${n} applied changes at ${s}`).join(', ')}`));
  return `${lines.join('\n')}\n`;
}

/** The sites taking part in async replication, opened; closed by the caller. */
async function openReplicationSites(resolved: ResolvedDesign, sitesDir: string): Promise<Map<string, SiteConnector>> {
  const names = new Set(replicaLinks(resolved).flatMap((l) => [l.primary.name, l.replica.name]));
  const connectors = new Map<string, SiteConnector>();
  try {
    for (const site of resolved.design.sites.filter((s) => names.has(s.name)))
      connectors.set(site.name, await openConnector(site, sitesDir));
  } catch (e) {
    await closeAll(connectors);
    throw e;
  }
  return connectors;
}

async function closeAll(connectors: Map<string, SiteConnector>): Promise<void> {
  await Promise.all([...connectors.values()].map((c) => c.close().catch(() => {})));
  connectors.clear();
}

export function registerSync(program: Command, io: Io): void {
  program
    .command('sync')
    .description(
      'apply the changes captured at the primaries of async fragments to their replicas, exactly once (PostgreSQL-to-PostgreSQL replicas follow by logical replication)',
    )
    .argument('<design>', 'the design file')
    .option('--follow', 'keep applying new changes until interrupted (Ctrl-C)')
    .option('--interval <ms>', 'with --follow: milliseconds between rounds', '1000')
    .option('--batch <n>', 'changes applied per replica transaction', '5000')
    .option('--json', 'print the result as JSON (one object per round with --follow)')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(
      async (file: string, opts: { follow?: boolean; interval: string; batch: string; json?: boolean; sitesDir?: string }) => {
        const interval = Number(opts.interval);
        const batchSize = Number(opts.batch);
        if (!Number.isInteger(interval) || interval < 1)
          throw new UserError(`--interval must be a positive number of milliseconds, not ${opts.interval}`);
        if (!Number.isInteger(batchSize) || batchSize < 1)
          throw new UserError(`--batch must be a positive integer, not ${opts.batch}`);
        const design = await loadDesign(file);
        const source = await openSource(design.source, design.dir);
        let resolved: ResolvedDesign;
        try {
          resolved = resolveDesign(design, source.catalog);
        } finally {
          await source.close();
        }
        const links = replicaLinks(resolved);
        if (links.length === 0) {
          if (opts.json) io.stdout(`${JSON.stringify({ pairs: [], pruned: {} })}\n`);
          else io.stdout(`${design.name} has no async fragment: nothing to sync\n`);
          io.exitCode = ExitCode.ok;
          return;
        }
        const sitesDir = opts.sitesDir ?? design.dir;
        const print = (report: SyncReport) => io.stdout(opts.json ? `${JSON.stringify(report)}\n` : formatSync(report));
        if (!opts.follow) {
          const connectors = await openReplicationSites(resolved, sitesDir);
          try {
            if (!opts.json) io.stdout(`Syncing the async replicas of ${pc.bold(design.name)}\n`);
            print(await syncReplicas(resolved, connectors, { batchSize }));
          } finally {
            await closeAll(connectors);
          }
          io.exitCode = ExitCode.ok;
          return;
        }

        // --follow: rounds until SIGINT/SIGTERM. Embedded engines (SQLite, DuckDB, PGlite) are opened per
        // round so that other processes can use their files in between; servers stay connected.
        let stopping = false;
        let wake: (() => void) | undefined;
        const stop = () => {
          stopping = true;
          wake?.();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (!opts.json)
          io.stdout(`Following the async replicas of ${pc.bold(design.name)} every ${interval} ms (Ctrl-C stops)\n`);
        const connectors = new Map<string, SiteConnector>();
        let total = 0;
        try {
          while (!stopping) {
            try {
              for (const [name, c] of await openReplicationSites(resolved, sitesDir)) {
                if (connectors.has(name)) await c.close();
                else connectors.set(name, c);
              }
              const report = await syncReplicas(resolved, connectors, { batchSize });
              const applied = report.pairs.reduce((n, p) => n + p.changes, 0);
              total += applied;
              if (applied > 0 || opts.json) {
                if (!opts.json) io.stdout(pc.dim(`${new Date().toISOString()}\n`));
                print({ ...report, pairs: opts.json ? report.pairs : report.pairs.filter((p) => p.changes > 0) });
              }
            } catch (e) {
              io.stderr(`${pc.yellow('ddbkit: sync round failed, retrying:')} ${(e as Error).message}\n`);
              await closeAll(connectors);
            }
            for (const [name, c] of connectors)
              if (!c.capabilities.concurrentSessions) {
                await c.close().catch(() => {});
                connectors.delete(name);
              }
            if (stopping) break;
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, interval);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await closeAll(connectors);
        }
        if (!opts.json) io.stdout(`Stopped; ${total} change${total === 1 ? '' : 's'} applied while following\n`);
        io.exitCode = ExitCode.ok;
      },
    );
}
