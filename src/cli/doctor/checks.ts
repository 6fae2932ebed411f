// The production checklist, in the order it runs and prints. Adding a check is one line
// here: a `Check` (types.ts) with a unique name, the earlier checks it needs (dependsOn;
// it is skipped when one of them failed or was skipped) and a run function returning
// pass, warn, fail or skip with a one-line summary and, unless it passes, the fix.
import { auditChainCheck } from './audit-check.ts';
import { backupsCheck } from './backup-check.ts';
import { configurationCheck, corsCheck, masterKeyCheck, publicURLCheck } from './configuration-checks.ts';
import { databaseCheck, databaseRoleCheck, migrationsCheck } from './database-checks.ts';
import { dataDirCheck, filesDirCheck, nodeVersionCheck, processUserCheck } from './host-checks.ts';
import { keyWrappingCheck, signingKeysCheck } from './key-checks.ts';
import { redisCheck } from './redis-check.ts';
import { databaseTLSCheck, httpsCheck, redisTLSCheck, smtpTLSCheck } from './transport-checks.ts';
import type { Check } from './types.ts';

export const CHECKS: readonly Check[] = [
  configurationCheck,
  masterKeyCheck,
  publicURLCheck,
  corsCheck,
  httpsCheck,
  redisTLSCheck,
  smtpTLSCheck,
  databaseCheck,
  databaseTLSCheck,
  migrationsCheck,
  databaseRoleCheck,
  auditChainCheck,
  signingKeysCheck,
  keyWrappingCheck,
  backupsCheck,
  redisCheck,
  dataDirCheck,
  filesDirCheck,
  processUserCheck,
  nodeVersionCheck,
];
