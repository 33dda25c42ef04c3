/**
 * Helpers for the deployment tests against real servers: a cluster of two PostgreSQL 15 servers
 * and one MariaDB (shared by a test file, one database per test), variants of the shipped example
 * designs written to a temp dir, and an independent reading of what each site and the source hold
 * (each fragment computed here from the source's rows, not with ddbkit's membership SQL).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { Catalog, Relation } from '../../src/catalog/types.js';
import type { Design } from '../../src/design/load.js';
import type { Engine } from '../../src/design/schema.js';
import { openConnector, type SiteConnector } from '../../src/engines/connector.js';
import type { SqlRunner } from '../../src/engines/sql-runner.js';
import { mariaDbUnavailableReason, startMariaDb, type MariaDbServer } from '../support/mariadb-server.js';
import { POSTGRES_BIN, postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres-server.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = path.join(root, 'bin/ddbkit.js');

/** Why the server tests cannot run here, or undefined. */
export function serversUnavailableReason(): string | undefined {
  const pg = postgresUnavailableReason();
  if (pg) return pg;
  const maria = mariaDbUnavailableReason();
  if (maria) return maria;
  if (!existsSync(path.join(POSTGRES_BIN, '../lib/mysql_fdw.so')) && !existsSync('/usr/lib/postgresql/15/lib/mysql_fdw.so'))
    return 'mysql_fdw.so not found (apt-get install postgresql-15-mysql-fdw, or run scripts/test-servers.sh)';
  return undefined;
}

// ─── Servers ────────────────────────────────────────────────────────────────────────────────

export class PgHandle {
  constructor(readonly server: PostgresServer) {}
  get port(): number {
    return this.server.port;
  }
  url(db: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }
  async sql<T = Record<string, unknown>>(db: string, text: string): Promise<T[]> {
    const pg = await import('pg');
    const client = new (pg.default ?? pg).Client({ connectionString: this.url(db) });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query("SET TimeZone = 'UTC'");
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end().catch(() => {});
    }
  }
  async createDatabase(db: string): Promise<void> {
    await this.sql('postgres', `CREATE DATABASE ${db}`);
  }
  /** Tables of the public schema (views and foreign tables excluded). */
  async tables(db: string): Promise<string[]> {
    const rows = await this.sql<{ t: string }>(
      db,
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    return rows.map((r) => r.t);
  }
}

export class MariaHandle {
  constructor(
    readonly server: MariaDbServer,
    readonly user: string,
    readonly password: string,
  ) {}
  get port(): number {
    return this.server.port;
  }
  /** The URL a design writes: the password as a `${VAR}` placeholder. */
  designUrl(db: string, passwordVar: string): string {
    return `mysql://${this.user}:\${${passwordVar}}@127.0.0.1:${this.port}/${db}`;
  }
  async sql<T = Record<string, unknown>>(db: string, text: string): Promise<T[]> {
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({ uri: `mysql://root@127.0.0.1:${this.port}/${db}` });
    try {
      const [rows] = await conn.query(text);
      return rows as T[];
    } finally {
      await conn.end().catch(() => {});
    }
  }
  async createDatabase(db: string): Promise<void> {
    await this.server.createDatabase(db);
  }
  async tables(db: string): Promise<string[]> {
    const rows = await this.sql<{ t: string }>(
      'mysql',
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = '${db}' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    return rows.map((r) => r.t);
  }
  /** SIGKILLs the server (a site dying without warning); synchronous, for progress callbacks: read `pid()` first. */
  static killPid(pid: number): void {
    process.kill(pid, 'SIGKILL');
  }
  async pid(): Promise<number> {
    const [row] = await this.sql<{ f: string }>('mysql', 'SELECT @@pid_file AS f');
    return Number(readFileSync(row!.f, 'utf8').trim());
  }
}

/** A MariaDB server with a password-protected user `ddb` (the password never appears in outputs). */
export async function startMaria(password: string): Promise<MariaHandle> {
  const server = await startMariaDb();
  const handle = new MariaHandle(server, 'ddb', password);
  try {
    for (const host of ['%', 'localhost', '127.0.0.1']) {
      await handle.sql('mysql', `CREATE USER 'ddb'@'${host}' IDENTIFIED BY '${password}'`);
      await handle.sql('mysql', `GRANT ALL PRIVILEGES ON *.* TO 'ddb'@'${host}'`);
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return handle;
}

export async function startPg(): Promise<PgHandle> {
  return new PgHandle(await startPostgres());
}

// ─── Designs ────────────────────────────────────────────────────────────────────────────────

export type Example = 'library' | 'ecommerce';

export interface SiteDef {
  engine: Engine;
  url: string;
  decision?: boolean;
}

/**
 * Writes `DIR/design.yaml`: the shipped example with its sites replaced and its fragments
 * allocated by `allocate` (given the example's allocation, returns the new one).
 */
export function writeVariant(
  dir: string,
  example: Example,
  sites: Record<string, SiteDef>,
  allocate: (fragment: string, sites: string[]) => string[],
): string {
  mkdirSync(dir, { recursive: true });
  const doc = parse(readFileSync(path.join(root, 'examples', example, 'design.yaml'), 'utf8')) as {
    source: string;
    sites: unknown;
    fragments: Array<{ name: string; sites: string[] }>;
  };
  // Only the keys this test rewrites or keeps (a later key such as `reports:` names files beside the example).
  for (const key of Object.keys(doc))
    if (!['name', 'description', 'source', 'sites', 'fragments'].includes(key)) delete (doc as Record<string, unknown>)[key];
  doc.source = path.join(root, 'examples', example, example === 'library' ? 'library.sql' : 'ecommerce.sql');
  doc.sites = sites;
  for (const f of doc.fragments) f.sites = allocate(f.name, f.sites);
  const file = path.join(dir, 'design.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

// ─── Reading rows independently ─────────────────────────────────────────────────────────────

/** A multiset of rows as sorted JSON lines, with a SHA-256 over them. */
export interface RowSet {
  rows: number;
  sha: string;
  lines: string[];
}

export function rowSet(rows: unknown[][]): RowSet {
  const lines = rows.map((r) => JSON.stringify(r.map((v) => (typeof v === 'bigint' ? String(v) : v)))).sort();
  return { rows: lines.length, sha: createHash('sha256').update(lines.join('\n')).digest('hex'), lines };
}

async function all(it: AsyncIterable<unknown[][]>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

const dq = (n: string) => `"${n.replace(/"/g, '""')}"`;

/** Every row of every source relation, canonical values (read straight from the source database). */
export async function sourceRows(source: SiteConnector, catalog: Catalog): Promise<Map<string, unknown[][]>> {
  const out = new Map<string, unknown[][]>();
  for (const r of catalog.relations) {
    out.set(
      r.name,
      await all(
        source.stream(
          `SELECT ${r.columns.map((c) => dq(c.name)).join(', ')} FROM ${dq(r.name)}`,
          5000,
          r.columns.map((c) => c.type),
        ),
      ),
    );
  }
  return out;
}

/** A direct checksum query on the source: md5 of every relation's rows as text, per relation. */
export async function sourceChecksums(runner: SqlRunner, catalog: Catalog): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of catalog.relations) {
    const [row] = await runner.query<{ h: string; n: unknown }>(
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h, count(*) AS n FROM ${dq(r.name)} AS t`,
    );
    out[r.name] = `${String(row!.n)}:${row!.h}`;
  }
  return out;
}

function relationOf(catalog: Catalog, name: string): Relation {
  const r = catalog.relations.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!r) throw new Error(`no relation ${name}`);
  return r;
}

export interface ExpectedFragment {
  name: string;
  relation: Relation;
  /** Stored columns, in the relation's order (as ddbkit lays them out). */
  columns: string[];
  /** Full source rows (all columns) belonging to the fragment. */
  members: unknown[][];
  rows: RowSet;
  sites: string[];
}

/**
 * Each fragment of a design computed here from the source's rows: `where` of the examples' form
 * `col = 'value'`, `follows` as a semi-join through the child's foreign key to the parent relation.
 */
export function expectedFragments(
  design: Design,
  catalog: Catalog,
  data: Map<string, unknown[][]>,
): Map<string, ExpectedFragment> {
  const out = new Map<string, ExpectedFragment>();
  const specs = new Map(design.fragments.map((f) => [f.name, f]));
  const compute = (name: string): ExpectedFragment => {
    const done = out.get(name);
    if (done) return done;
    const spec = specs.get(name)!;
    const relation = relationOf(catalog, spec.of);
    const col = (c: string) => relation.columns.findIndex((x) => x.name.toLowerCase() === c.toLowerCase());
    let members = data.get(relation.name)!;
    if (spec.where) {
      const m = /^\s*(\w+)\s*=\s*'([^']*)'\s*$/.exec(spec.where);
      if (!m) throw new Error(`test helper only reads "col = 'value'" predicates, not ${spec.where}`);
      const i = col(m[1]!);
      members = members.filter((r) => r[i] === m[2]);
    }
    if (spec.follows) {
      const parent = compute(spec.follows);
      const fk = relation.foreignKeys.find((k) => k.references.relation.toLowerCase() === parent.relation.name.toLowerCase())!;
      const pcols = fk.references.columns.map((c) => parent.relation.columns.findIndex((x) => x.name === c));
      const keys = new Set(parent.members.map((r) => JSON.stringify(pcols.map((i) => r[i]))));
      const ccols = fk.columns.map(col);
      members = members.filter((r) => keys.has(JSON.stringify(ccols.map((i) => r[i]))));
    }
    const stored = spec.columns ? new Set(spec.columns.map((c) => c.toLowerCase())) : undefined;
    const columns = relation.columns.map((c) => c.name).filter((c) => !stored || stored.has(c.toLowerCase()));
    const idx = columns.map(col);
    const f: ExpectedFragment = {
      name,
      relation,
      columns,
      members,
      rows: rowSet(members.map((r) => idx.map((i) => r[i]))),
      sites: spec.sites,
    };
    out.set(name, f);
    return f;
  };
  for (const f of design.fragments) compute(f.name);
  return out;
}

/** Opens a site of a design with ddbkit's connector (canonical values) and runs `fn`. */
export async function withSite<T>(design: Design, site: string, fn: (c: SiteConnector) => Promise<T>): Promise<T> {
  const spec = design.sites.find((s) => s.name === site)!;
  const c = await openConnector(spec, design.dir);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** What a site's table of a fragment holds, read with a plain SELECT. */
export async function siteRows(c: SiteConnector, f: ExpectedFragment): Promise<RowSet> {
  const q = (n: string) => c.dialect.quoteIdentifier(n);
  const types = f.columns.map((n) => f.relation.columns.find((x) => x.name === n)!.type);
  return rowSet(await all(c.stream(`SELECT ${f.columns.map(q).join(', ')} FROM ${q(f.name.toLowerCase())}`, 5000, types)));
}

/**
 * Names of the base tables a site holds (through the connector's introspection), without ddbkit's
 * own bookkeeping tables (ddbkit_outbox, ddbkit_applied… of async replication).
 */
export async function siteTables(design: Design, site: string): Promise<string[]> {
  return withSite(design, site, async (c) =>
    (await c.introspect()).relations
      .map((r) => r.name.toLowerCase())
      .filter((n) => !n.startsWith('ddbkit_'))
      .sort(),
  );
}

// ─── Processes ──────────────────────────────────────────────────────────────────────────────

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: options.cwd ?? root, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The built CLI, as a user runs it (no colours). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete e.FORCE_COLOR;
  return run(process.execPath, [bin, ...args], { env: e });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** `npm test` builds first; when run alone (or after an edit), build here so the CLI is current. */
export async function ensureBuilt(): Promise<void> {
  const main = path.join(root, 'dist/cli/main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(root, 'src'))) return;
  const r = await run('npm', ['run', 'build']);
  if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

/** Whether a command is on the PATH. */
export function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, cmd)));
}
