/**
 * Running one global query both ways — through ddbkit on a deployment, and directly on the
 * source (PGlite, canonical values from the source connector) — and comparing the answers.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { SourceDatabase } from '../../../src/engines/source.js';
import type { DistributedDatabase, QueryResult } from '../../../src/query/distributed.js';
import { type Norm, differenceOf, normaliseRows } from './compare.js';

export interface Answer {
  columns: string[];
  rows: Norm[][];
}

export interface Outcome {
  sql: string;
  ordered: boolean;
  /** Undefined when both sides agree (rows and column names). */
  difference?: string;
  sourceRows?: number;
  /** Time on the source, in ddbkit, in all. */
  sourceMs: number;
  ddbkitMs: number;
  ms: number;
  result?: QueryResult;
}

export async function runOnSource(source: SourceDatabase, sql: string): Promise<Answer> {
  const db = (source.runner as unknown as { db: PGlite }).db;
  const described = await db.describeQuery(sql);
  const rows: unknown[][] = [];
  for await (const batch of source.connector.stream(sql, 5000)) rows.push(...batch);
  return { columns: described.resultFields.map((f) => f.name), rows: normaliseRows(rows) };
}

export async function compareQuery(
  db: DistributedDatabase,
  source: SourceDatabase,
  sql: string,
  ordered: boolean,
): Promise<Outcome> {
  const started = performance.now();
  let expected: Answer;
  try {
    expected = await runOnSource(source, sql);
  } catch (e) {
    // A broken test query, not a finding about ddbkit.
    throw new Error(`the source rejects the test query: ${(e as Error).message}\n${sql}`, { cause: e });
  }
  const sourceMs = performance.now() - started;
  let result: QueryResult;
  try {
    result = await db.query(sql);
  } catch (e) {
    return {
      sql,
      ordered,
      difference: `ddbkit failed (${(e as Error).name}): ${(e as Error).message}`,
      sourceRows: expected.rows.length,
      sourceMs,
      ddbkitMs: performance.now() - started - sourceMs,
      ms: performance.now() - started,
    };
  }
  const ddbkitMs = performance.now() - started - sourceMs;
  const actual = normaliseRows(result.rows);
  let difference = differenceOf(expected.rows, actual, ordered);
  if (!difference && JSON.stringify(result.columns) !== JSON.stringify(expected.columns)) {
    difference = `column names differ: source ${JSON.stringify(expected.columns)}, ddbkit ${JSON.stringify(result.columns)}`;
  }
  return {
    sql,
    ordered,
    ...(difference ? { difference } : {}),
    sourceRows: expected.rows.length,
    sourceMs,
    ddbkitMs,
    ms: performance.now() - started,
    result,
  };
}

export function describeOutcome(o: Outcome, where: string): string {
  return `[${where}] ${o.difference}\n  query: ${o.sql.replace(/\s+/g, ' ').trim()}`;
}
