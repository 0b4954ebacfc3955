export { SqlTreeStore } from './sql-tree-store.js';
export { TransparencyLog, type TransparencyLogOptions, type StoredCheckpoint } from './transparency-log.js';
export { groupCommit } from './group-commit.js';
