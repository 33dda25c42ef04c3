/**
 * Predicate logic: parse SQL conditions into typed trees and reason about them exactly
 * (satisfiability, implication, equivalence, fixed values, witness rows). Used by validation now
 * and by the query engine to prune fragments.
 */
export * from './ast.js';
export { type Domain, type Key, domainOf } from './domain.js';
export { evaluate, type Row, type Truth3 } from './evaluate.js';
export { PredicateError, parsePredicate, predicateFromExpr, type Scope } from './parse.js';
export { renderSql, postgresStyle, type SqlStyle } from './render.js';
export { type Goal, type JsonValue, type Truth, Universe, Witness } from './solver.js';
