import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog } from '../catalog/types.js';
import { expandEnv, MissingEnvVarError, redactUrl } from '../util/secrets.js';
import { introspectPostgres } from './introspect-postgres.js';
import type { SiteConnector } from './connector.js';
import type { SqlRunner } from './sql-runner.js';

/** The centralized database a design starts from, opened and introspected. */
export interface SourceDatabase {
  runner: SqlRunner;
  /**
   * The same database as a site connector (one session with `runner` for PGlite): streams rows with
   * canonical values, for moving and checksumming data. Read-only use: ddbkit never writes the source.
   */
  connector: SiteConnector;
  catalog: Catalog;
  /** Human text naming the source; never contains a password. */
  description: string;
  close(): Promise<void>;
}

/** The source named by a design cannot be opened, loaded or introspected. */
export class SourceError extends Error {
  /** The source as the design wrote it (before `${VAR}` expansion), any literal password redacted. */
  readonly source: string;
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
    this.source = redactUrl(source);
  }
}

/**
 * Opens a design's `source`:
 * - `something.sql` (relative to `baseDir`): loaded into a fresh in-memory PGlite;
 * - `postgres://…` / `postgresql://…` (with `${VAR}` placeholders expanded): a live PostgreSQL.
 */
export async function openSource(source: string, baseDir: string): Promise<SourceDatabase> {
  const trimmed = source.trim();
  if (/\.sql$/i.test(trimmed)) return openSqlScript(trimmed, baseDir);
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return openPostgresUrl(trimmed);
  throw new SourceError(
    source,
    `unsupported source "${redactUrl(source)}": expected a path to a .sql script or a postgres:// / postgresql:// URL`,
  );
}

async function openSqlScript(source: string, baseDir: string): Promise<SourceDatabase> {
  const file = path.resolve(baseDir, source);
  let script: string;
  try {
    script = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new SourceError(source, `cannot read source SQL script ${file}: ${why}`, { cause: e });
  }
  const { PGliteRunner } = await import('./pglite/pglite-runner.js');
  const runner = await PGliteRunner.create();
  try {
    try {
      await runner.exec(script);
    } catch (e) {
      throw new SourceError(source, `source SQL script ${file} failed to load: ${describeSqlError(e, script)}`, { cause: e });
    }
    let catalog: Catalog;
    try {
      catalog = await introspectPostgres(runner);
    } catch (e) {
      throw new SourceError(source, `cannot introspect source SQL script ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (catalog.relations.length === 0) {
      throw new SourceError(source, `source SQL script ${file} creates no tables in schema public`);
    }
    const { PGliteConnector } = await import('./pglite/connector.js');
    const { PG_SESSION_SETUP } = await import('./postgres/family.js');
    await runner.exec(PG_SESSION_SETUP);
    const connector = new PGliteConnector(
      { name: 'source', engine: 'pglite', url: 'memory:', shownUrl: 'memory:', secrets: [] },
      runner.db,
    );
    return {
      runner,
      connector,
      catalog,
      description: `SQL script ${file} (loaded into in-memory PGlite)`,
      close: () => runner.close(),
    };
  } catch (e) {
    await runner.close().catch(() => {});
    throw e;
  }
}

/** PostgreSQL's message, plus line:column (and the offending line) when the error has a position. */
function describeSqlError(e: unknown, script: string): string {
  const err = e as { message?: string; position?: string | number; detail?: string; hint?: string };
  let text = err.message ?? String(e);
  const pos = Number(err.position);
  if (Number.isFinite(pos) && pos > 0) {
    const before = script.slice(0, pos - 1);
    const line = before.split('\n').length;
    const col = pos - 1 - before.lastIndexOf('\n');
    const lineText = (script.split('\n')[line - 1] ?? '').trim();
    text += ` (at line ${line}, column ${col}: ${lineText})`;
  }
  if (err.detail) text += `; detail: ${err.detail}`;
  if (err.hint) text += `; hint: ${err.hint}`;
  return text;
}

async function openPostgresUrl(source: string): Promise<SourceDatabase> {
  let url: string;
  try {
    url = expandEnv(source);
  } catch (e) {
    if (e instanceof MissingEnvVarError) {
      throw new SourceError(source, `source ${redactUrl(source)}: environment variable ${e.variable} is not set`, { cause: e });
    }
    throw e;
  }
  const shown = redactUrl(url);
  const secrets = passwordsOf(url);
  const scrub = (msg: string): string => secrets.reduce((m, s) => m.split(s).join('***'), msg);

  const { PgRunner } = await import('./postgres/pg-runner.js');
  let runner: InstanceType<typeof PgRunner>;
  try {
    runner = await PgRunner.connect(url);
  } catch (e) {
    // pg's own message (kept out of `cause`, which could carry the config) with any password scrubbed.
    throw new SourceError(source, `cannot connect to source PostgreSQL ${shown}: ${scrub(errorMessage(e))}`);
  }
  try {
    const catalog = await introspectPostgres(runner);
    const { openConnector } = await import('./connector.js');
    const connector = await openConnector({ name: 'source', engine: 'postgres', url }, '.');
    return {
      runner,
      connector,
      catalog,
      description: `PostgreSQL ${shown}`,
      close: async () => {
        await connector.close();
        await runner.close();
      },
    };
  } catch (e) {
    await runner.close().catch(() => {});
    throw new SourceError(source, `cannot introspect source PostgreSQL ${shown}: ${scrub(errorMessage(e))}`);
  }
}

function errorMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => errorMessage(x)).join('; ');
  if (e instanceof Error) return e.message || (e as NodeJS.ErrnoException).code || e.name;
  return String(e);
}

/** Passwords appearing in a URL (userinfo or password= parameter), raw and percent-decoded. */
function passwordsOf(url: string): string[] {
  const out: string[] = [];
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)@/.exec(url);
  const userinfo = m?.[1];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) out.push(userinfo.slice(colon + 1));
  }
  for (const p of url.matchAll(/\bpassword=([^&\s]*)/gi)) if (p[1]) out.push(p[1]);
  const all = new Set<string>();
  for (const s of out) {
    if (!s) continue;
    all.add(s);
    try {
      all.add(decodeURIComponent(s));
    } catch {
      /* not percent-encoded */
    }
  }
  return [...all].filter((s) => s.length > 0);
}
