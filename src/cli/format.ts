/** Result output: an aligned text table, JSON (an array of row objects) or CSV. */
export type Format = 'table' | 'json' | 'csv';

/** JSON values: numbers as numbers (exact decimals included), NULL as null, dates as ISO strings. */
function jsonValue(v: unknown, family: string | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (family === 'decimal' && typeof v === 'string') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return v;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  return String(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatRows(columns: string[], families: Array<string | undefined>, rows: unknown[][], format: Format): string {
  if (format === 'json') {
    return `${JSON.stringify(
      rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonValue(r[i], families[i])]))),
      null,
      2,
    )}\n`;
  }
  if (format === 'csv') {
    return `${[columns.map(csvField).join(','), ...rows.map((r) => r.map((v) => csvField(text(v))).join(','))].join('\n')}\n`;
  }
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? 'NULL' : text(v))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const numeric = families.map((f) => f === 'integer' || f === 'decimal' || f === 'float');
  const line = (values: string[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ');
  const out = [
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map(line),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ];
  return `${out.join('\n')}\n`;
}
