/** Asynchronous replication: primaries, change capture, sync and lag (issue 5, section 3). */
export { primarySite, checkAsyncPrimaries } from './primary.js';
export { type Mechanism, type ReplicaLink, replicaLinks, mechanismBetween } from './plan.js';
export { replicationFor } from './engines/registry.js';
export { type SyncOptions, type SyncReport, syncReplicas } from './sync.js';
export { type ReplicaLag, replicationLag } from './lag.js';
export { setUpReplication, replicationScript } from './setup.js';
