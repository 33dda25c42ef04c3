/**
 * The relational catalog of a source database: what introspection produces and what the
 * design, the predicate logic and validation reason about. Engine-neutral on purpose.
 */

/** The family of a column's type decides how predicates over it are reasoned about. */
export type TypeFamily =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'text'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'json'
  | 'binary'
  | 'uuid'
  | 'other';

export interface ColumnType {
  family: TypeFamily;
  /** The type as the source spells it, e.g. `numeric(10,2)`, `character varying(80)`. */
  sqlType: string;
  /** integer: 16 | 32 | 64 bits. */
  bits?: number;
  /** decimal: total digits and digits after the point, when declared. */
  precision?: number;
  scale?: number;
  /** text: declared maximum length (varchar(n) / char(n)). */
  length?: number;
}

export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** The default expression as the source prints it, if any. */
  defaultExpression?: string;
}

export interface ForeignKey {
  name: string;
  columns: string[];
  references: { relation: string; columns: string[] };
}

export interface CheckConstraint {
  name: string;
  /** The boolean expression of the constraint, without the `CHECK` keyword. */
  expression: string;
}

export interface Relation {
  name: string;
  columns: Column[];
  primaryKey: string[];
  foreignKeys: ForeignKey[];
  checks: CheckConstraint[];
}

export interface Catalog {
  relations: Relation[];
}

/** SQL identifiers are matched without regard to case, as a designer types them. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function findRelation(catalog: Catalog, name: string): Relation | undefined {
  return catalog.relations.find((r) => r.name === name) ?? catalog.relations.find((r) => sameName(r.name, name));
}

export function findColumn(relation: Relation, name: string): Column | undefined {
  return relation.columns.find((c) => c.name === name) ?? relation.columns.find((c) => sameName(c.name, name));
}
