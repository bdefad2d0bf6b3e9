import { randomUUID } from 'node:crypto';
import { LedgerEvent, type LedgerEntry, type License } from './types.js';
import type { LedgerMove, OutboxEntry, SeatLocator } from './ports.js';

/** A new ledger outbox entry for a change about to be written (the resulting total is filled in when it is moved). */
export function ledgerOutboxEntry(fields: Omit<LedgerEntry, 'id' | 'totalAfter' | 'periodResetAt'> & { periodResetAt?: Date | null; seat?: SeatLocator | null }): OutboxEntry {
  const { seat, periodResetAt, ...rest } = fields;
  const id = randomUUID();
  return { id, kind: 'ledger', at: fields.at, ledger: { id, ...rest, periodResetAt: periodResetAt ?? null }, ...(seat && rest.deviceId === null ? { seat } : {}) };
}

/**
 * Completes the ledger entries pending in a license's outbox from the license as one read returned it:
 * the single rule for the resulting total, the period and the device of a ledger entry, used alike for
 * the entries a request moves right after its write and for those the repair step moves after a
 * crash, so a repaired entry is identical to a normally settled one.
 *
 * Every change to a counter pushes its ledger entry in the same atomic write, and entries leave the
 * outbox only as a prefix (whoever moves an entry moves every ledger entry written before it, see
 * OutboxSettler), so the pending entries of one counter are exactly its latest changes, in order. The
 * total after each is therefore the counter's current total minus the amounts written after it, and
 * its period the counter's current one until a `period_reset` entry, which names the period it closed.
 * A counter that is gone (a feature deleted since) leaves its entries' totals unknown (null).
 */
export function completeLedgerEntries(license: License, pending: readonly OutboxEntry[]): LedgerMove[] {
  const running = new Map<string, { total: number | null; resetAt: Date | null }>();
  const stateOf = (entry: OutboxEntry) => {
    const { scope, featureCode } = entry.ledger;
    const key = scope === 'license' ? '' : `f:${featureCode ?? ''}`;
    let state = running.get(key);
    if (!state) {
      const meter = scope === 'license' ? license.consumption : license.features.find((f) => f.code === featureCode);
      state = meter ? { total: meter.total, resetAt: meter.resetAt } : { total: null, resetAt: null };
      running.set(key, state);
    }
    return state;
  };
  const moves: LedgerMove[] = [];
  for (let i = pending.length - 1; i >= 0; i -= 1) {
    const entry = pending[i]!;
    const state = stateOf(entry);
    const isPeriodReset = entry.ledger.event === LedgerEvent.periodReset;
    const deviceId = entry.ledger.deviceId ?? seatDevice(license, entry.seat);
    const completed: OutboxEntry = {
      ...entry,
      ledger: {
        ...entry.ledger,
        licenseId: license.id,
        deviceId,
        periodResetAt: isPeriodReset ? entry.ledger.periodResetAt : (entry.ledger.periodResetAt ?? state.resetAt),
      },
    };
    moves.push({ licenseId: license.id, entry: completed, totalAfter: state.total });
    if (state.total !== null) state.total -= entry.ledger.amount;
    if (isPeriodReset) state.resetAt = entry.ledger.periodResetAt;
  }
  return moves.reverse();
}

function seatDevice(license: License, seat: SeatLocator | null | undefined): number | null {
  if (!seat) return null;
  const found = license.seats.find((s) => ('hardwareId' in seat ? s.hardwareId === seat.hardwareId : s.activationId === seat.activationId));
  return found?.deviceId ?? null;
}

/** The ledger entries of an outbox (as stored in a license document), in the order they were written. */
export function pendingLedgerEntries(outbox: ReadonlyArray<{ kind: string }> | undefined): OutboxEntry[] {
  return (outbox ?? []).filter((e): e is OutboxEntry => e.kind === 'ledger');
}
