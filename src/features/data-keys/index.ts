export { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, assertBatchSize, rotateAllDataKeys, rotateUserDataKey, type DataKeyRotationDeps, type RotationHooks, type RotationSummary } from './rotation-run.ts';
export { DataKeyRotationError, type OwnerRotation } from './rotate-user.ts';
export { NOT_SEALED_UNDER_DATA_KEYS, SEALED_FIELDS, type SealedField } from './sealed-fields.ts';
