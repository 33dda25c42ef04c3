/** Printing what statements did: rows for SELECT and RETURNING, a command tag otherwise (as psql). */
import type { StatementResult } from '../write/session.js';
import { type Format, formatRows } from './format.js';

export function formatStatementResult(r: StatementResult, format: Format): string {
  const hasRows = r.command === 'SELECT' || r.columns.length > 0;
  if (!hasRows) {
    if (format === 'json') return `${JSON.stringify({ command: r.command, rowCount: r.rowCount })}\n`;
    if (r.command === 'BEGIN' || r.command === 'COMMIT' || r.command === 'ROLLBACK') return `${r.command}\n`;
    return `${r.command} ${r.rowCount}\n`;
  }
  const rows = r.rows.map((row) => r.columns.map((c) => row[c]));
  return formatRows(r.columns, r.families ?? r.columns.map(() => undefined), rows, format);
}
