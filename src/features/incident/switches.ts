// `gatehouse incident freeze-registration on|off` and `gatehouse incident maintenance on|off`:
// one UPDATE of the switches' row that changes it only if it is not already so, and an
// audit record of every run saying whether it changed anything (`changed: false` for a
// repeat). The record targets `incident`, so the commit drops the cached switches on this
// instance and, announced over Redis, on every other one (flags.ts).
import type { ContainmentActor, IncidentDeps } from './deps.ts';

export type IncidentSwitch = 'registration' | 'maintenance';

const ACTIONS: Readonly<Record<IncidentSwitch, { readonly on: string; readonly off: string }>> = {
  registration: { on: 'incident.registration_frozen', off: 'incident.registration_unfrozen' },
  maintenance: { on: 'incident.maintenance_started', off: 'incident.maintenance_ended' },
};

/** Turns a switch on or off; `changed` is false when it already was. */
export async function setIncidentSwitch(deps: Pick<IncidentDeps, 'clock' | 'change'>, by: ContainmentActor, which: IncidentSwitch, on: boolean): Promise<{ readonly changed: boolean }> {
  return deps.change(by.context, async ({ trx, audit }) => {
    const now = deps.clock();
    const column = which === 'registration' ? 'registration_frozen_at' : 'maintenance_since';
    const result = await trx
      .updateTable('incident_flags')
      .set({ [column]: on ? now : null, updated_at: now })
      .where('id', '=', true)
      .where(column, on ? 'is' : 'is not', null)
      .executeTakeFirst();
    const changed = result.numUpdatedRows > 0n;
    audit({ actor: by.actor, action: on ? ACTIONS[which].on : ACTIONS[which].off, target: { type: 'incident', id: which }, outcome: 'success', details: { changed } });
    return { changed };
  });
}
