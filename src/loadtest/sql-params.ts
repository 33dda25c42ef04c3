/**
 * Workload SQL names its parameters `:name`; ddbkit's API takes `$1 … $n`. The rewrite skips
 * string literals, quoted identifiers, comments and `::` casts; a name used twice is one `$n`.
 */

export interface BoundSql {
  /** The SQL with `$1 … $n`. */
  sql: string;
  /** The parameter names, in `$n` order. */
  names: string[];
}

export function bindNamedParams(sql: string): BoundSql {
  const names: string[] = [];
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      // a literal or quoted identifier; doubled quotes stay inside
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const j = end < 0 ? sql.length : end;
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const j = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    if (c === ':' && next === ':') {
      out += '::';
      i += 2;
      continue;
    }
    if (c === ':') {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1));
      if (m) {
        let n = names.indexOf(m[0]);
        if (n < 0) n = names.push(m[0]) - 1;
        out += `$${n + 1}`;
        i += 1 + m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return { sql: out, names };
}
