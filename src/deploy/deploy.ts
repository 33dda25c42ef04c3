/**
 * Deploying a design: validate it, create every fragment table on every site (replicas included),
 * stream each fragment's rows from the source into the site with the engine's bulk path, create the
 * decision site's links and views where it can, then verify. Idempotent: a table already holding
 * exactly its fragment is left alone, one holding something else is refilled in one transaction.
 * A failure removes what this run created, on every site, and never touches the source (read only).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Design } from '../design/load.js';
import { fragmentSelectSql, membershipSql } from '../design/membership-sql.js';
import { type ResolvedDesign, type ResolvedFragment, resolveDesign } from '../design/resolve.js';
import { UserError } from '../design/errors.js';
import { type SiteConnector, SiteError, openConnector } from '../engines/connector.js';
import type { SourceDatabase } from '../engines/source.js';
import { countLines } from '../engines/values.js';
import { replicaLinks } from '../replication/plan.js';
import { setUpReplication } from '../replication/setup.js';
import { expandEnv } from '../util/secrets.js';
import type { ValidationReport } from '../validate/report.js';
import { validateDesign } from '../validate/static.js';
import { type FragmentTable, type SiteLayout, layoutSites } from './layout.js';
import { decisionItems } from './scripts.js';
import { type VerificationReport, digestSiteFragment, digestSourceFragment, verifyDeployment } from './verify.js';

export type TableAction = 'created' | 'unchanged' | 'refilled';

export interface DeployProgress {
  /** A fragment starts loading into a site: `total` rows are expected. */
  start(site: string, fragment: string, total: number): void;
  /** `rows` more rows were loaded. */
  advance(rows: number): void;
  done(site: string, fragment: string, rows: number, action: TableAction, seconds: number): void;
  note(text: string): void;
}

export interface DeployOptions {
  dryRun?: boolean;
  /** Deploy a design validation finds invalid. */
  force?: boolean;
  /** The folder `file:` site URLs resolve against; the design's folder by default. */
  sitesDir?: string;
  verify?: boolean;
  progress?: DeployProgress;
}

export interface SitePlan {
  site: string;
  engine: string;
  decision: boolean;
  tables: Array<{ fragment: string; table: string; rows: number; ddl: string[] }>;
  views: string[];
}

export interface DeployResult {
  plan: SitePlan[];
  dryRun: boolean;
  loaded: Array<{ site: string; fragment: string; table: string; rows: number; action: TableAction; seconds: number }>;
  views: Array<{ site: string; view: string }>;
  verification?: VerificationReport;
  validation: ValidationReport;
}

/** The design is invalid and --force was not given. */
export class DeployRefused extends UserError {
  override name = 'DeployRefused';
  constructor(readonly report: ValidationReport) {
    super(
      `the design is invalid (${report.errors} error${report.errors === 1 ? '' : 's'}): run \`ddbkit validate\` for the trace, fix the design, or deploy anyway with --force`,
    );
  }
}

/** A deployment step failed on a site; what this run created has been removed. */
export class DeployError extends Error {
  override name = 'DeployError';
  constructor(
    readonly site: string,
    readonly fragment: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const BATCH = 5000;

export async function deploy(design: Design, source: SourceDatabase, options: DeployOptions = {}): Promise<DeployResult> {
  const resolved = resolveDesign(design, source.catalog);
  const validation = validateDesign(resolved);
  if (!validation.valid && !options.force) throw new DeployRefused(validation);
  const layouts = layoutSites(resolved);
  replicaLinks(resolved); // async fragments are checked (a primary key each) before any site is touched
  const plan = await planDeployment(resolved, layouts, source);
  const result: DeployResult = { plan, dryRun: Boolean(options.dryRun), loaded: [], views: [], validation };
  if (options.dryRun) return result;

  const sitesDir = options.sitesDir ?? design.dir;
  const connectors = await openSites(layouts, sitesDir);
  const created: Array<{ connector: SiteConnector; drop: string }> = [];
  let current: { site: string; fragment?: string } = { site: '' };
  try {
    for (const layout of layouts) {
      const connector = connectors.get(layout.site.name)!;
      current = { site: layout.site.name };
      const existing = new Set((await connector.introspect()).relations.map((r) => r.name.toLowerCase()));
      for (const table of layout.tables) {
        current = { site: layout.site.name, fragment: table.fragment.name };
        const started = performance.now();
        const total = plan.find((p) => p.site === layout.site.name)!.tables.find((t) => t.table === table.table)!.rows;
        let action: TableAction;
        let rows: number;
        if (existing.has(table.table)) {
          const [siteDigest, sourceDigest] = [
            await digestSiteFragment(connector, table.fragment),
            await digestSourceFragment(source.connector, table.fragment),
          ];
          if (siteDigest.rows === sourceDigest.rows && siteDigest.checksum === sourceDigest.checksum) {
            action = 'unchanged';
            rows = siteDigest.rows;
          } else {
            action = 'refilled';
            options.progress?.start(layout.site.name, table.fragment.name, total);
            await connector.begin();
            try {
              await connector.execute(`DELETE FROM ${connector.dialect.quoteIdentifier(table.table)}`);
              rows = await load(connector, table, source, options.progress);
              await connector.commit();
            } catch (e) {
              await connector.rollback().catch(() => {});
              throw e;
            }
          }
        } else {
          for (const ddl of layout.dialect.createTable(table.table, table.columns, table.primaryKey, {
            checks: table.checks,
            indexes: table.indexes,
            relation: table.fragment.relation.name,
            lengths: table.lengths,
          })) {
            await connector.execute(ddl);
            if (/^CREATE TABLE/i.test(ddl)) created.push({ connector, drop: layout.dialect.dropTable(table.table) });
          }
          action = 'created';
          options.progress?.start(layout.site.name, table.fragment.name, total);
          rows = await load(connector, table, source, options.progress);
        }
        const analyze = action === 'unchanged' ? undefined : layout.dialect.analyzeTable(table.table);
        if (analyze) await connector.execute(analyze);
        const seconds = (performance.now() - started) / 1000;
        options.progress?.done(layout.site.name, table.fragment.name, rows, action, seconds);
        result.loaded.push({ site: layout.site.name, fragment: table.fragment.name, table: table.table, rows, action, seconds });
      }
    }

    // Async fragments: change capture at primaries, applied seqs at replicas, PostgreSQL subscriptions.
    await setUpReplication(resolved, connectors, created, (site, fragment) => {
      current = { site, ...(fragment ? { fragment } : {}) };
    });

    const decision = layouts.find((l) => l.decision)!;
    current = { site: decision.site.name };
    const connector = connectors.get(decision.site.name)!;
    const passwords = new Map(design.sites.map((s) => [`'__${s.name.toUpperCase()}_PASSWORD__'`, passwordOf(s.url)]));
    for (const item of decisionItems(resolved, layouts, decision)) {
      if (!('sql' in item)) continue;
      let sql = item.sql;
      for (const [placeholder, password] of passwords)
        if (password !== undefined) sql = sql.split(placeholder).join(`'${password.replace(/'/g, "''")}'`);
      const view = /^CREATE OR REPLACE VIEW\s+(\S+)/i.exec(sql)?.[1];
      // A view that was there before this run is replaced, not created: undo must not drop it.
      const existed = view ? await viewExists(connector, view.replace(/["`]/g, '')) : false;
      try {
        await connector.execute(sql);
      } catch (e) {
        if (sql === item.sql) throw e;
        // The statement carried a password: keep it out of the error (its `sql`, its driver cause).
        const secrets = [...passwords.values()].filter((p): p is string => Boolean(p));
        const message = secrets.reduce((m, p) => m.split(p).join('***'), (e as Error).message);
        throw new SiteError(decision.site.name, decision.site.engine, message.replace(/^site \S+ \([^)]*\): /, ''), {
          ...(e instanceof SiteError ? { code: e.code } : {}),
          sql: item.sql,
        });
      }
      if (view) {
        if (!existed) created.push({ connector, drop: `DROP VIEW IF EXISTS ${view}` });
        result.views.push({ site: decision.site.name, view: view.replace(/["`]/g, '') });
      }
    }
  } catch (e) {
    await undo(created);
    const at = current.fragment ? `site ${current.site}, fragment ${current.fragment}` : `site ${current.site}`;
    const removed = created.length
      ? `; removed the ${created.length} object${created.length === 1 ? '' : 's'} this run created`
      : '';
    const why = e instanceof SiteError ? e.message : `${(e as Error).message}`;
    await closeAll(connectors);
    throw new DeployError(
      current.site,
      current.fragment,
      `deploy failed at ${at}: ${why}${removed}; the source was not modified`,
      { cause: e },
    );
  }

  try {
    if (options.verify !== false) result.verification = await verifyDeployment(resolved, source.connector, connectors);
  } finally {
    await closeAll(connectors);
  }
  return result;
}

/** Per site: the tables with their DDL and the number of rows each will receive. */
async function planDeployment(resolved: ResolvedDesign, layouts: SiteLayout[], source: SourceDatabase): Promise<SitePlan[]> {
  const counts = new Map<ResolvedFragment, number>();
  for (const f of resolved.fragments) {
    const [row] = await source.runner.query<{ n: unknown }>(
      `SELECT count(*) AS n FROM "${f.relation.name.replace(/"/g, '""')}" AS r WHERE ${membershipSql(f, 'r')}`,
    );
    counts.set(f, Number(row?.n ?? 0));
  }
  return layouts.map((layout) => ({
    site: layout.site.name,
    engine: layout.site.engine,
    decision: layout.decision,
    tables: layout.tables.map((t) => ({
      fragment: t.fragment.name,
      table: t.table,
      rows: counts.get(t.fragment) ?? 0,
      ddl: layout.dialect.createTable(t.table, t.columns, t.primaryKey, {
        checks: t.checks,
        indexes: t.indexes,
        relation: t.fragment.relation.name,
        lengths: t.lengths,
      }),
    })),
    views: layout.decision
      ? decisionItems(resolved, layouts, layout).flatMap((i) => {
          const m = 'sql' in i ? /^CREATE OR REPLACE VIEW\s+(\S+)/i.exec(i.sql) : null;
          return m ? [m[1]!.replace(/["`]/g, '')] : [];
        })
      : [],
  }));
}

async function openSites(layouts: SiteLayout[], sitesDir: string): Promise<Map<string, SiteConnector>> {
  const connectors = new Map<string, SiteConnector>();
  try {
    for (const layout of layouts) {
      const { site } = layout;
      if (site.url.startsWith('file:')) {
        const file = path.resolve(sitesDir, site.url.slice('file:'.length));
        // SQLite and DuckDB create their file but not its folder (PGlite creates its data folder).
        await mkdir(path.dirname(file), { recursive: true });
      }
      connectors.set(site.name, await openConnector(site, sitesDir));
    }
  } catch (e) {
    await closeAll(connectors);
    throw e;
  }
  return connectors;
}

async function load(
  connector: SiteConnector,
  table: FragmentTable,
  source: SourceDatabase,
  progress?: DeployProgress,
): Promise<number> {
  const from = source.connector;
  const select = fragmentSelectSql(table.fragment);
  const loadColumns = table.columns.map((c) => ({ name: c.name, type: c.type }));
  // Raw text paths: one line per row, so progress counts newlines.
  async function* reported(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of chunks) {
      yield chunk;
      progress?.advance(countLines(chunk));
    }
  }
  if (
    from.capabilities.copyText &&
    from.capabilities.copyText === connector.capabilities.copyText &&
    from.copyOutText &&
    connector.copyInText
  ) {
    // Same COPY format on both ends (PostgreSQL to PostgreSQL): the rows are never decoded.
    return connector.copyInText(
      table.table,
      loadColumns.map((c) => c.name),
      reported(from.copyOutText(select)),
    );
  }
  const format = connector.capabilities.textLoad;
  const text = format && connector.loadText ? from.copyOutAs?.(format, select, loadColumns) : undefined;
  if (text && connector.loadText) {
    // The source writes the site's own load format (PostgreSQL to MariaDB): values not decoded here.
    return connector.loadText(table.table, loadColumns, reported(text));
  }
  const rows = from.stream(
    select,
    BATCH,
    loadColumns.map((c) => c.type),
  );
  async function* counted(): AsyncIterable<unknown[][]> {
    for await (const batch of rows) {
      yield batch;
      progress?.advance(batch.length);
    }
  }
  return connector.bulkLoad(table.table, loadColumns, counted());
}

async function viewExists(connector: SiteConnector, name: string): Promise<boolean> {
  try {
    const rows = await connector.query(connector.dialect.viewExistsSql(name));
    return rows.length > 0;
  } catch {
    return false;
  }
}

async function undo(created: Array<{ connector: SiteConnector; drop: string }>): Promise<void> {
  for (const { connector, drop } of [...created].reverse()) {
    await connector.execute(drop).catch(() => {});
  }
}

async function closeAll(connectors: Map<string, SiteConnector>): Promise<void> {
  await Promise.all([...connectors.values()].map((c) => c.close().catch(() => {})));
}

/** The password in a site URL, `${VAR}` expanded; never printed — only sent to the decision site. */
function passwordOf(url: string): string | undefined {
  try {
    const parsed = new URL(expandEnv(url));
    return parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    return undefined;
  }
}
