/**
 * The MySQL / MariaDB source. The engine constructs it with `createBinlogSource(config, { logger })`.
 */
export { BinlogSource, createBinlogSource, normaliseSnapshotMode, type BinlogSourceDeps } from './source.js';
export { MariaDbGtidPosition, MySqlGtidSet } from './gtid.js';
export { decodeOffset, encodeOffset, type BinlogOffset } from './offset.js';
