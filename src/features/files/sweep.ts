// With FILES_DIR, what the database no longer points at is removed from the directory by
// a scheduled job, `purge-orphan-files`:
// - the folder of an erased account (its rows went by cascade and its key was shredded,
//   so the contents were already unreadable; now they are gone too);
// - a content whose row never committed (the process stopped between writing the file
//   and the commit) or a `.partial` left by a write that never finished, once older than
//   a day, so an upload in flight is never touched.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import type { ScheduledJob } from '../../core/jobs/scheduler.ts';

const DAY_MS = 86_400_000;
const BATCH = 500;

async function existingUsers(db: DB, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < ids.length; start += BATCH) {
    const rows = await db.selectFrom('users').select('id').where('id', 'in', ids.slice(start, start + BATCH)).execute();
    for (const row of rows) found.add(row.id);
  }
  return found;
}

async function sweepFolder(db: DB, folder: string, ownerId: string, now: Date): Promise<number> {
  const names = await readdir(folder);
  const rows = await db.selectFrom('user_files').select('id').where('user_id', '=', ownerId).execute();
  const known = new Set(rows.map((row) => row.id));
  let removed = 0;
  for (const name of names) {
    if (known.has(name)) continue;
    const path = join(folder, name);
    if (now.getTime() - (await stat(path)).mtimeMs < DAY_MS) continue;
    await rm(path, { force: true });
    removed += 1;
  }
  return removed;
}

/** Removes from `root` what no row points at; answers how many folders and files it removed. */
export async function sweepFilesDir(db: DB, root: string, now: Date): Promise<number> {
  let entries: string[];
  try {
    entries = (await readdir(root)).filter((name) => UUID_PATTERN.test(name));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 0;
    throw error;
  }
  const users = await existingUsers(db, entries);
  let removed = 0;
  for (const ownerId of entries) {
    const folder = join(root, ownerId);
    if (users.has(ownerId)) {
      removed += await sweepFolder(db, folder, ownerId, now);
    } else {
      await rm(folder, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

export function orphanFilesJob(root: string): ScheduledJob {
  return {
    name: 'purge-orphan-files',
    everySeconds: 3600,
    description: `folders of erased accounts, and contents no row points at after a day, in FILES_DIR (${root})`,
    run: (db, now) => sweepFilesDir(db, root, now),
  };
}
