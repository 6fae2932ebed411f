// A session's device data (the client's address and user agent) sealed under the owner's
// data key, each value bound to its session row and column (envelope.ts field contexts),
// so a value copied to another session or owner does not open, and erasing the account
// (which shreds the key) leaves nothing readable. Read where the owner or an administrator
// looks at sessions, and by the retention job that cuts old addresses to their network.
import { decryptField, encryptField, unwrapDataKey } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { networkOf } from '../../core/audit/personal.ts';
import type { DB } from '../../core/db/database.ts';

export interface DeviceData {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface SealedDevice {
  readonly ip_sealed: string | null;
  readonly user_agent_sealed: string | null;
}

const field = (sessionId: string, column: 'ip' | 'user_agent'): { table: string; column: string; rowId: string } => ({ table: 'sessions', column, rowId: sessionId });

export function sealDevice(dek: Buffer, sessionId: string, device: DeviceData): SealedDevice {
  return {
    ip_sealed: device.ip === null ? null : encryptField(dek, field(sessionId, 'ip'), device.ip),
    user_agent_sealed: device.userAgent === null ? null : encryptField(dek, field(sessionId, 'user_agent'), device.userAgent),
  };
}

export function openDevice(dek: Buffer, sessionId: string, sealed: SealedDevice): DeviceData {
  return {
    ip: sealed.ip_sealed === null ? null : decryptField(dek, field(sessionId, 'ip'), sealed.ip_sealed),
    userAgent: sealed.user_agent_sealed === null ? null : decryptField(dek, field(sessionId, 'user_agent'), sealed.user_agent_sealed),
  };
}

/** Opens the device data of rows read with their owner's wrapped key (a join on data_keys); nothing when the key is gone. */
export function openDevices(keyring: Keyring, rows: readonly (SealedDevice & { readonly id: string; readonly user_id: string; readonly wrapped_key: string | null })[]): Map<string, DeviceData> {
  const devices = new Map<string, DeviceData>();
  const keys = new Map<string, Buffer>();
  try {
    for (const row of rows) {
      if (row.wrapped_key === null) {
        devices.set(row.id, { ip: null, userAgent: null });
        continue;
      }
      let dek = keys.get(row.user_id);
      if (dek === undefined) {
        dek = unwrapDataKey(keyring, row.user_id, row.wrapped_key);
        keys.set(row.user_id, dek);
      }
      devices.set(row.id, openDevice(dek, row.id, row));
    }
  } finally {
    for (const key of keys.values()) key.fill(0);
  }
  return devices;
}

/**
 * IP_RETENTION_DAYS for sessions: the next `limit` sessions created before `before` whose
 * device data was not minimized yet get their address cut to its network (/24, /48) and
 * their user agent removed, sealed again under the same key. Answers how many changed.
 */
export async function minimizeSessionDevices(db: DB, keyring: Keyring, options: { readonly before: Date; readonly now: Date; readonly limit: number }): Promise<number> {
  const rows = await db
    .selectFrom('sessions')
    .leftJoin('data_keys', 'data_keys.owner_id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.user_id', 'ip_sealed', 'user_agent_sealed', 'data_keys.wrapped_key'])
    .where('sessions.created_at', '<', options.before)
    .where('device_minimized_at', 'is', null)
    .orderBy('sessions.created_at')
    .limit(options.limit)
    .execute();
  const devices = openDevices(keyring, rows);
  let changed = 0;
  for (const row of rows) {
    let sealed: SealedDevice = { ip_sealed: null, user_agent_sealed: null };
    const network = networkOf(devices.get(row.id)?.ip ?? null);
    if (row.wrapped_key !== null && network !== null) {
      const dek = unwrapDataKey(keyring, row.user_id, row.wrapped_key);
      try {
        sealed = sealDevice(dek, row.id, { ip: network, userAgent: null });
      } finally {
        dek.fill(0);
      }
    }
    // Only over the values just read (a compare-and-swap): a data-key rotation that re-sealed
    // them meanwhile (features/data-keys) wins, and the next run minimizes under the new key.
    const result = await db
      .updateTable('sessions')
      .set({ ...sealed, device_minimized_at: options.now })
      .where('id', '=', row.id)
      .where('device_minimized_at', 'is', null)
      .where('ip_sealed', 'is not distinct from', row.ip_sealed)
      .where('user_agent_sealed', 'is not distinct from', row.user_agent_sealed)
      .executeTakeFirst();
    changed += Number(result.numUpdatedRows);
  }
  return changed;
}
