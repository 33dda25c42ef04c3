/**
 * ddbkit's library API. The CLI is a thin layer over these functions.
 */
export type { Catalog, Column, ColumnType, ForeignKey, Relation } from './catalog/types.js';
export { loadDesign, parseDesign, type Design } from './design/load.js';
export { resolveDesign, type ResolvedDesign, type ResolvedFragment } from './design/resolve.js';
export { DesignError, UserError } from './design/errors.js';
export { openSource, type SourceDatabase } from './engines/source.js';
export { openConnector, type SiteConnector, SiteError } from './engines/connector.js';
export { validateDesignFile, validateWithSource } from './validate/run.js';
export { validateDesign } from './validate/static.js';
export type { Check, ValidationReport } from './validate/report.js';
export { deploy, DeployError, DeployRefused, type DeployOptions, type DeployResult } from './deploy/deploy.js';
export { generateScripts } from './deploy/scripts.js';
export { verifyDeployment, type VerificationReport } from './deploy/verify.js';
export { deploymentStatus } from './deploy/status.js';
export { openDistributed, DistributedDatabase, type QueryPlan, type QueryResult } from './query/distributed.js';
export { QueryError } from './query/errors.js';
export { WriteError, isRetryable } from './write/errors.js';
export type { StatementResult, Transaction } from './write/session.js';
export type { RecoveryReport } from './write/recover.js';
export * as predicates from './predicate/index.js';
