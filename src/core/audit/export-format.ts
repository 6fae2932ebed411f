// The NDJSON export of the trail, and its offline verification. Line 1 is a header
// naming where the exported chain starts (its anchor) and, after a prune, the signed
// checkpoint that vouches for that anchor; every further line is one record with every
// column, as `verifyRecords` reads it; the last line is a trailer naming the final
// record and the count, so a transfer cut short does not pass for a shorter chain
// (it is not a seal: the key is what protects the content). Whoever holds the audit key can then check a
// copy with no access to the database it came from (`gatehouse audit verify --file`).
//
// Key rotation: every record names its key (`key_id`), hand-overs included; the header's
// anchor and the trailer's end also name the key in force there (`key_id`, null where
// nothing pins it), so a copy spanning rotations verifies with every key version it names.
import type { AuditCheckpoint } from './checkpoint.ts';
import { checkpointIsAuthentic, positionAfter } from './checkpoint.ts';
import { GENESIS, GENESIS_HASH, type AuditKeyLookup, type AuditRecord, type ChainHead, type ChainPosition } from './types.ts';
import { verifyRecords, type AuditChainProblem } from './verify.ts';

export const EXPORT_FORMAT = 'gatehouse.audit.export.v1';
const BATCH = 1000;

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  /** The record before the first exported one (seq 0 and the genesis hash at the start), and the key in force after it. */
  readonly anchor: ChainPosition & { readonly key_id: string | null };
  /** Present when the anchor is the end of a prune: it proves the anchor. */
  readonly checkpoint: AuditCheckpoint | null;
}

export function headerLine(anchor: ChainHead, checkpoint: AuditCheckpoint | null): string {
  const header: ExportHeader = { format: EXPORT_FORMAT, anchor: { seq: anchor.seq, hash: anchor.hash, key_id: anchor.keyId ?? null }, checkpoint };
  return `${JSON.stringify(header)}\n`;
}

/** One record as a line: `occurred_at` becomes the ISO string the hash was computed over. */
export function recordLine(record: AuditRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** The last line: where the export ends, so a download cut short is told from a short chain. */
export function trailerLine(head: ChainHead, records: number): string {
  return `${JSON.stringify({ format: EXPORT_FORMAT, end: { seq: head.seq, hash: head.hash, key_id: head.keyId ?? null }, records })}\n`;
}

/**
 * How the export's first record is tied to something trustworthy: the genesis, an
 * authentic checkpoint, or nothing (a partial export starting mid-chain), in which
 * case compare `anchor` with the last record of the previous export.
 */
export type ExportAnchoring = 'genesis' | 'checkpoint' | 'unanchored';

export type ExportProblem = AuditChainProblem | 'malformed_line' | 'missing_header' | 'truncated';

export interface ExportVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly firstBrokenSeq: number | null;
  readonly reason?: ExportProblem;
  readonly anchoring: ExportAnchoring | null;
  readonly anchor: ChainHead | null;
  /** The last record verified, and the key in force after it. */
  readonly head: ChainHead | null;
}

function parseObject(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isPosition(value: unknown): value is ChainPosition {
  if (typeof value !== 'object' || value === null) return false;
  const position = value as Record<string, unknown>;
  return Number.isSafeInteger(position['seq']) && typeof position['hash'] === 'string';
}

type Start = { readonly anchor: ChainHead; readonly anchoring: ExportAnchoring };

function startAt(anchor: ChainHead, anchoring: ExportAnchoring): Start {
  return { anchor, anchoring };
}

/** The key an anchor names; absent in exports older than key rotation. */
function anchorKeyId(anchor: ChainPosition): string | null {
  const keyId = (anchor as { key_id?: unknown }).key_id;
  return typeof keyId === 'string' ? keyId : null;
}

function readHeader(line: string, keys: AuditKeyLookup): Start | ExportProblem {
  const header = parseObject(line);
  if (header?.['format'] !== EXPORT_FORMAT || !isPosition(header['anchor'])) return 'missing_header';
  const anchor = header['anchor'];
  const checkpoint = header['checkpoint'] as AuditCheckpoint | null | undefined;
  if (checkpoint !== null && checkpoint !== undefined) {
    // The authentic checkpoint, not the header, says which key the chain resumes under.
    const after = checkpointIsAuthentic(checkpoint, keys) ? positionAfter(checkpoint) : null;
    return after?.seq === anchor.seq && after.hash === anchor.hash ? startAt(after, 'checkpoint') : 'checkpoint_invalid';
  }
  if (anchor.seq === 0) return anchor.hash === GENESIS_HASH ? startAt(GENESIS, 'genesis') : 'prev_mismatch';
  // As unvouched-for as the anchor itself: compare both with the previous export.
  return startAt({ seq: anchor.seq, hash: anchor.hash, keyId: anchorKeyId(anchor) }, 'unanchored');
}

function isTrailer(line: Record<string, unknown>): boolean {
  return line['format'] === EXPORT_FORMAT && 'end' in line;
}

function trailerMatches(trailer: Record<string, unknown>, head: ChainHead | null, checked: number): boolean {
  const end = trailer['end'];
  if (head === null || !isPosition(end) || end.seq !== head.seq || end.hash !== head.hash || trailer['records'] !== checked) return false;
  return !('key_id' in end) || anchorKeyId(end) === (head.keyId ?? null);
}

/** Verifies an export line by line, holding one batch of records at a time. */
export async function verifyExport(lines: AsyncIterable<string> | Iterable<string>, keys: AuditKeyLookup): Promise<ExportVerification> {
  let start: Start | null = null;
  let head: ChainHead | null = null;
  let trailer: Record<string, unknown> | null = null;
  let checked = 0;
  let batch: AuditRecord[] = [];
  const broken = (firstBrokenSeq: number | null, reason: ExportProblem): ExportVerification =>
    ({ ok: false, checked, firstBrokenSeq, reason, anchoring: start?.anchoring ?? null, anchor: start?.anchor ?? null, head });
  const nextSeq = (): number => (head?.seq ?? 0) + 1;
  const flush = (): ExportVerification | null => {
    if (head === null || batch.length === 0) return null;
    const result = verifyRecords(batch, keys, head);
    batch = [];
    checked += result.checked;
    head = result.head;
    return result.ok ? null : broken(result.firstBrokenSeq, result.reason);
  };
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (start === null) {
      const header = readHeader(line, keys);
      if (typeof header === 'string') return broken(null, header);
      start = header;
      head = header.anchor;
      continue;
    }
    const parsed = parseObject(line);
    // A record that does not parse, or anything after the trailer, is checked only after
    // what came before it: a break there is the earlier one.
    if (parsed === null || trailer !== null) return flush() ?? broken(nextSeq(), 'malformed_line');
    if (isTrailer(parsed)) {
      trailer = parsed;
      continue;
    }
    batch.push(parsed as unknown as AuditRecord);
    if (batch.length >= BATCH) {
      const failure = flush();
      if (failure !== null) return failure;
    }
  }
  if (start === null) return broken(null, 'missing_header');
  const failure = flush();
  if (failure !== null) return failure;
  if (trailer === null || !trailerMatches(trailer, head, checked)) return broken(nextSeq(), 'truncated');
  return { ok: true, checked, firstBrokenSeq: null, anchoring: start.anchoring, anchor: start.anchor, head };
}
