/**
 * Statements against the global schema, reads and writes alike, alone (autocommit) or inside a
 * transaction: what `db.execute`, `db.transaction`, `ddbkit query` with DML, `-f` scripts with
 * BEGIN/COMMIT/ROLLBACK and the shell all use.
 */
import { parse, type Statement } from 'pgsql-ast-parser';
import type { ReadContext } from '../query/distributed.js';
import { QueryError } from '../query/errors.js';
import { parserMessage } from '../predicate/parse.js';
import { WriteError } from './errors.js';
import { type GlobalReader, type StatementResult, WriteExecutor } from './executor.js';
import type { DistributedTransaction } from './transaction.js';

export type { StatementResult } from './executor.js';

/** A statement's kind, read without running it. */
export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'begin' | 'commit' | 'rollback';

export interface ParsedStatement {
  kind: StatementKind;
  sql: string;
  ast: Statement;
}

/** Splits a script into statements (with their own text) and tells what each is. */
export function parseStatements(sql: string): ParsedStatement[] {
  const cached = PARSED.get(sql);
  if (cached) return cached;
  const parsed = parseUncached(sql);
  // Statements repeat (a load test, a script in a loop): parsing is the costly part of planning.
  if (PARSED.size >= 2000) PARSED.delete(PARSED.keys().next().value!);
  PARSED.set(sql, parsed);
  return parsed;
}

const PARSED = new Map<string, ParsedStatement[]>();

function parseUncached(sql: string): ParsedStatement[] {
  let statements: Statement[];
  try {
    statements = parse(sql, { locationTracking: true });
  } catch (e) {
    throw new QueryError(`cannot parse the statement: ${parserMessage(e)}`, 'SYNTAX');
  }
  // A statement's text runs to the next one's start (the parser's end location can stop short).
  const starts = statements.map((ast) => (ast as { _location?: { start: number } })._location?.start ?? 0);
  if (statements.length === 1) {
    // One statement: its locations already count from the start of `sql`, which stays its text.
    const ast = statements[0]!;
    return [{ kind: kindOf(ast), sql: sql.replace(/[\s;]+$/, ''), ast }];
  }
  return statements.map((ast, i) => {
    const text = sql
      .slice(statements.length === 1 ? 0 : starts[i], i + 1 < statements.length ? starts[i + 1] : sql.length)
      .replace(/[\s;]+$/, '')
      .trim();
    return { kind: kindOf(ast), sql: text, ast: reparse(text, ast) };
  });
}

/** Locations must be relative to the statement's own text: parse each statement alone. */
function reparse(text: string, ast: Statement): Statement {
  if (ast.type !== 'insert' && ast.type !== 'update' && ast.type !== 'delete') return ast;
  return parse(text, { locationTracking: true })[0]!;
}

function kindOf(ast: Statement): StatementKind {
  switch (ast.type) {
    case 'select':
    case 'union':
    case 'union all':
    case 'with':
    case 'values':
      return 'select';
    case 'insert':
      return 'insert';
    case 'update':
      return 'update';
    case 'delete':
      return 'delete';
    case 'begin':
    case 'start transaction':
      return 'begin';
    case 'commit':
      return 'commit';
    case 'rollback':
      return 'rollback';
    default:
      throw new QueryError(`${ast.type.toUpperCase()} statements are not supported on the global schema`, 'UNSUPPORTED');
  }
}

export interface QueryRunner extends GlobalReader {
  query(
    sql: string,
    options: { context?: ReadContext; params?: readonly unknown[] },
  ): Promise<{ columns: string[]; rows: unknown[][] }>;
}

/** A transaction as the caller sees it: statements with optional $n parameters. */
export class Transaction {
  constructor(
    private readonly db: QueryRunner,
    readonly inner: DistributedTransaction,
  ) {}

  get gid(): string {
    return this.inner.gid;
  }

  /** Runs one statement inside the transaction; an error leaves the transaction only able to roll back. */
  /**
   * Runs one statement inside the transaction; an error leaves the transaction only able to roll
   * back. With `params`, the statement is a template (`$1`…) parsed once for every call.
   */
  async query(sql: string, params?: readonly unknown[]): Promise<StatementResult> {
    const statements = parseStatements(sql);
    if (statements.length !== 1) throw new QueryError(`expected one statement, got ${statements.length}`, 'SYNTAX');
    return this.run(statements[0]!, params);
  }

  async run(statement: ParsedStatement, params?: readonly unknown[]): Promise<StatementResult> {
    this.inner.assertActive();
    const bound = params && params.length > 0 ? params : undefined;
    try {
      switch (statement.kind) {
        case 'select': {
          const tx = this.inner;
          const context: ReadContext = {
            use: async (site, fn) => {
              const c = await tx.session(site, false);
              return tx.exclusive(site, () => fn(c));
            },
            known: tx.known,
          };
          const r = await this.db.query(statement.sql, { context, ...(bound ? { params: bound } : {}) });
          return selectResult(r);
        }
        case 'insert':
          return await new WriteExecutor(this.db, this.inner, statement.sql, bound).insert(statement.ast as never);
        case 'update':
          return await new WriteExecutor(this.db, this.inner, statement.sql, bound).update(statement.ast as never);
        case 'delete':
          return await new WriteExecutor(this.db, this.inner, statement.sql, bound).delete(statement.ast as never);
        default:
          throw new WriteError(
            `${statement.kind.toUpperCase()} inside a transaction: end it with COMMIT or ROLLBACK first`,
            'transaction',
          );
      }
    } catch (e) {
      this.inner.markFailed(e);
      throw e;
    }
  }

  commit(): Promise<void> {
    return this.inner.commit();
  }

  rollback(): Promise<void> {
    return this.inner.rollback();
  }
}

export function selectResult(r: { columns: string[]; families?: Array<string | undefined>; rows: unknown[][] }): StatementResult {
  return {
    command: 'SELECT',
    columns: r.columns,
    ...(r.families ? { families: r.families } : {}),
    rows: r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))),
    rowCount: r.rows.length,
  };
}

/** What a script runner needs from the database. */
export interface ScriptHost {
  begin(): Transaction;
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  query(sql: string): Promise<{ columns: string[]; families?: Array<string | undefined>; rows: unknown[][] }>;
}

/**
 * Statements one after another, as psql runs them: each alone (autocommit) unless between BEGIN
 * and COMMIT/ROLLBACK. After an error inside a transaction only ROLLBACK (or COMMIT, which then
 * rolls back) is accepted, as in PostgreSQL.
 */
export class ScriptRunner {
  private tx?: Transaction;

  constructor(private readonly host: ScriptHost) {}

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  get transactionFailed(): boolean {
    return this.tx?.inner.state === 'failed';
  }

  async run(sql: string, onResult?: (r: StatementResult) => void | Promise<void>): Promise<StatementResult[]> {
    const results: StatementResult[] = [];
    for (const statement of parseStatements(sql)) {
      const r = await this.step(statement);
      results.push(r);
      await onResult?.(r);
    }
    return results;
  }

  /** Rolls back a transaction left open (end of a script, the shell quitting). */
  async close(): Promise<boolean> {
    const open = this.tx;
    this.tx = undefined;
    if (!open) return false;
    await open.rollback();
    return true;
  }

  private async step(statement: ParsedStatement): Promise<StatementResult> {
    switch (statement.kind) {
      case 'begin':
        if (this.tx) throw new WriteError('BEGIN: a transaction is already open', 'transaction');
        this.tx = this.host.begin();
        return control('BEGIN');
      case 'commit':
      case 'rollback': {
        const open = this.tx;
        if (!open) throw new WriteError(`${statement.kind.toUpperCase()}: no transaction is open`, 'transaction');
        this.tx = undefined;
        if (statement.kind === 'commit') await open.commit();
        else await open.rollback();
        return control(statement.kind === 'commit' ? 'COMMIT' : 'ROLLBACK');
      }
      default:
        if (this.tx) return this.tx.run(statement);
        if (statement.kind === 'select') return selectResult(await this.host.query(statement.sql));
        return this.host.transaction((t) => t.run(statement));
    }
  }
}

function control(command: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): StatementResult {
  return { command, columns: [], rows: [], rowCount: 0 };
}
