// The NDJSON export as a stream: header, records in seq order read a batch at a time
// (memory stays at one batch however long the chain), trailer. Pulled by the response
// stream, so a slow client slows the reads instead of filling memory.
//
// Reads are not one snapshot: records appended meanwhile are included up to the moment
// the last batch is read (the trailer names where it stopped), and a prune running at
// the same time leaves a gap that verification reports; export again after it.
import type { Kysely } from 'kysely';
import { anchoringCheckpoint, latestCheckpoint, positionAfter, type AuditCheckpoint } from '../../core/audit/checkpoint.ts';
import { headerLine, recordLine, trailerLine } from '../../core/audit/export-format.ts';
import { nextKeyId } from '../../core/audit/keys.ts';
import { GENESIS, type ChainHead } from '../../core/audit/types.ts';
import type { Schema } from '../../core/db/schema.ts';

export interface ExportOptions {
  /** First seq to export; default the first one kept. */
  readonly fromSeq: number | null;
  readonly batchSize: number;
}

interface Start {
  readonly anchor: ChainHead;
  readonly checkpoint: AuditCheckpoint | null;
}

async function startOf(db: Kysely<Schema>, fromSeq: number | null): Promise<Start> {
  // The checkpoint the kept records follow (never one added over records still here).
  const anchoring = await anchoringCheckpoint(db);
  const checkpoint = anchoring === undefined ? await latestCheckpoint(db) : anchoring;
  const floor = checkpoint === null ? GENESIS : positionAfter(checkpoint);
  if (fromSeq === null || fromSeq <= floor.seq + 1) return { anchor: floor, checkpoint };
  // A partial export starts after a record the reader must already hold (the last line of
  // their previous export); the header names it so they can compare.
  const before = await db.selectFrom('audit_events').select(['seq', 'hash', 'action', 'key_id', 'details']).where('seq', '<', fromSeq).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (before === undefined) return { anchor: floor, checkpoint };
  return { anchor: { seq: before.seq, hash: before.hash, keyId: nextKeyId(before) }, checkpoint: null };
}

export async function* exportAuditTrail(db: Kysely<Schema>, options: ExportOptions): AsyncGenerator<string> {
  const start = await startOf(db, options.fromSeq);
  yield headerLine(start.anchor, start.checkpoint);
  let head = start.anchor;
  let records = 0;
  for (;;) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', head.seq).orderBy('seq').limit(options.batchSize).execute();
    for (const row of rows) {
      yield recordLine(row);
      head = { seq: row.seq, hash: row.hash, keyId: nextKeyId(row) };
      records += 1;
    }
    if (rows.length < options.batchSize) break;
  }
  yield trailerLine(head, records);
}
