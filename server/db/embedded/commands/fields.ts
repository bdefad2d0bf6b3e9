/**
 * The top-level fields mongod 7.0 accepts in the commands whose IDL definition is `strict: true`
 * (every other field fails the command with 40415 `BSON field '<command>.<field>' is an unknown
 * field.` before anything runs). Each list is the command's own fields as its IDL file declares
 * them (find_command.idl, aggregate_command.idl, count_command.idl, distinct_command.idl,
 * getmore_command.idl, write_ops.idl) plus the generic arguments every command takes
 * (generic_argument.idl). Fields of later versions are left out: a 7.0 server refuses them (the
 * update statement's `sort`, for one, came in 8.0; statements are checked in write.ts).
 */
import { ErrorCodes, fail } from '../errors.js';
import type { Doc } from '../values.js';

const GENERIC = [
  'apiVersion', 'apiStrict', 'apiDeprecationErrors', '$db', 'maxTimeMS', 'readConcern', 'writeConcern', 'lsid',
  'clientOperationKey', 'txnNumber', 'autocommit', 'startTransaction', 'stmtId', 'comment', '$readPreference',
  '$clusterTime', '$audit', '$client', '$configServerState', 'allowImplicitCollectionCreation', '$oplogQueryData',
  '$queryOptions', '$replData', 'databaseVersion', 'shardVersion', 'tracking_info', 'coordinator', 'maxTimeMSOpOnly',
  '$configTime', '$topologyTime', 'txnRetryCounter', 'mayBypassWriteBlocking', '$tenant', 'expectPrefix', '$gleStats',
];

const WRITE_COMMON = ['ordered', 'bypassDocumentValidation', 'stmtIds', 'collectionUUID', 'encryptionInformation', 'isTimeseriesNamespace', 'let'];

const OWN: Record<string, string[]> = {
  find: [
    'filter', 'projection', 'sort', 'hint', 'collation', 'skip', 'limit', 'batchSize', 'ntoreturn', 'singleBatch',
    'allowDiskUse', 'min', 'max', 'returnKey', 'showRecordId', 'tailable', 'oplogReplay', 'noCursorTimeout', 'awaitData',
    'allowPartialResults', 'let', 'options', 'term', 'readOnce', 'allowSpeculativeMajorityRead', '$_requestResumeToken',
    '$_resumeAfter', 'runtimeConstants', 'collectionUUID', 'encryptionInformation', 'sampleId', 'mirrored',
    '$_startAt', 'includeQueryStatsMetrics',
  ],
  aggregate: [
    'pipeline', 'explain', 'allowDiskUse', 'cursor', 'bypassDocumentValidation', 'collation', 'hint', 'let',
    'needsMerge', 'fromMongos', '$_requestReshardingResumeToken', 'exchange', 'runtimeConstants', 'isMapReduceCommand',
    'collectionUUID', '$_passthroughToShard', 'encryptionInformation', '$_externalDataSources', 'sampleId',
    '$_isClusterQueryWithoutShardKeyCmd', '$_requestResumeToken', '$_resumeAfter', '$_generateV2ResumeTokens',
    'includeQueryStatsMetrics', 'fromRouter',
  ],
  count: ['query', 'limit', 'skip', 'hint', 'collation', 'fields', 'encryptionInformation', 'mirrored', 'sampleId'],
  distinct: ['key', 'query', 'collation', 'mirrored', 'sampleId', 'hint'],
  getMore: ['collection', 'batchSize', 'term', 'lastKnownCommittedOpTime', 'includeQueryStatsMetrics'],
  findAndModify: [
    'query', 'fields', 'sort', 'hint', 'collation', 'arrayFilters', 'remove', 'update', 'new', 'upsert',
    'bypassDocumentValidation', 'let', 'runtimeConstants', 'encryptionInformation', 'sampleId', '$_fromTenantMigration',
    'isTimeseriesNamespace', '$_originalQuery', '$_originalCollation',
  ],
  insert: ['documents', ...WRITE_COMMON],
  update: ['updates', ...WRITE_COMMON],
  delete: ['deletes', ...WRITE_COMMON],
};

/** By the command's name in lower case (`findandmodify` is findAndModify's alias): its IDL name and known fields. */
const KNOWN = new Map(Object.entries(OWN).map(([name, own]) => [name.toLowerCase(), { name, fields: new Set([...own, ...GENERIC]) }]));

/**
 * Fails with 40415 at the first field of `cmd` (after the command's own name) that its strict
 * command does not know; commands without a list here are not checked.
 */
export function checkCommandFields(cmd: Doc): void {
  const [given, ...rest] = Object.keys(cmd);
  const known = given === undefined ? undefined : KNOWN.get(given.toLowerCase());
  if (!known) return;
  for (const field of rest) {
    if (!known.fields.has(field)) fail(ErrorCodes.Location40415, `BSON field '${known.name}.${field}' is an unknown field.`);
  }
}
