/** Walking pgsql-ast-parser's syntax trees: what every planning step needs. */
import type { Expr } from 'pgsql-ast-parser';

export type Node = Record<string, unknown>;

/**
 * Visits every node below `node` (source locations skipped), parents first; a visitor returning
 * false does not descend into that node.
 */
export function walk(node: unknown, visit: (n: Node, parent: Node | undefined) => boolean | void, parent?: Node): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit, parent);
    return;
  }
  const n = node as Node;
  if (visit(n, parent) === false) return;
  for (const [k, v] of Object.entries(n)) if (k !== '_location') walk(v, visit, n);
}

/** The conditions of a top-level AND, each on its own. */
export function conjuncts(e: Expr | undefined | null): Expr[] {
  if (!e) return [];
  if (e.type === 'binary' && e.op === 'AND') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** Whether a SELECT block holds a subquery (SELECT, UNION, WITH below it) or a window function. */
export function hasSubqueryOrWindow(block: object): boolean {
  let found = false;
  walk(block, (n) => {
    if (n !== block && (n.type === 'select' || n.type === 'union' || n.type === 'union all' || n.type === 'with')) found = true;
    if (n.over) found = true;
  });
  return found;
}
