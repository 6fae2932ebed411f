// The least-privilege application role's SQL, read from docs/operations.md ("Database
// roles"), so the documented grants are the tested ones.
import { readFile } from 'node:fs/promises';
import pg from 'pg';

const OPERATIONS = new URL('../../docs/operations.md', import.meta.url);

/** The fenced SQL after a marker in docs/operations.md. */
const BLOCKS = {
  create: /<!-- least-privilege-role:create -->\n```sql\n([\s\S]*?)```/,
  grants: /<!-- least-privilege-role:grants -->\n```sql\n([\s\S]*?)```/,
};

/** A documented block with the role and database named as the test names them. */
export async function documentedSQL(marker: keyof typeof BLOCKS, names: { role: string; database: string }): Promise<string> {
  const text = await readFile(OPERATIONS, 'utf8');
  const block = BLOCKS[marker].exec(text)?.[1];
  if (block === undefined) throw new Error(`docs/operations.md has no ${marker} block`);
  // Fixed documented text; only the two names change, each escaped as an identifier.
  return block.replaceAll(/\bgatehouse_app\b/g, pg.escapeIdentifier(names.role)).replace(/\bON DATABASE gatehouse\b/, `ON DATABASE ${pg.escapeIdentifier(names.database)}`);
}
