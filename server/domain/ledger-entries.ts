import { randomUUID } from 'node:crypto';
import type { EventOutboxEntry } from './events.js';
import { LedgerEvent, type LedgerEntry, type License } from './types.js';
import type { LedgerMove, LedgerTemplate, MeterTarget, OutboxEntry } from './ports.js';
import { literal, type QueryDocument } from './query-forms.js';

/**
 * The one shape of a ledger outbox entry, for both forms: the object form below passes values, the
 * expression form passes aggregation expressions (so the amount, the feature code and the id can be
 * computed from the document when a pipeline update applies).
 */
function outboxEntryShape<V>(id: V, at: Date, ledger: Record<Exclude<keyof OutboxEntry['ledger'], 'id'>, V | Date>) {
  return { id, kind: 'ledger' as const, at, ledger: { id, ...ledger } };
}

/** A new ledger outbox entry for a change about to be written (the resulting total is filled in when it is moved). */
export function ledgerOutboxEntry(fields: Omit<LedgerEntry, 'id' | 'totalAfter' | 'periodResetAt'> & { periodResetAt?: Date | null }): OutboxEntry {
  const { periodResetAt, ...rest } = fields;
  return outboxEntryShape<unknown>(randomUUID(), fields.at, { ...rest, periodResetAt: periodResetAt ?? null }) as OutboxEntry;
}

/**
 * `ledgerOutboxEntry` as an aggregation expression, for pipeline updates whose entries depend on the
 * document as the write finds it: the template's fields as literals, `id`, `featureCode` and `amount`
 * as expressions (a plain string id is taken as a literal).
 */
export function ledgerOutboxEntryExpression(
  template: LedgerTemplate,
  computed: { id: string | QueryDocument; scope: LedgerEntry['scope']; featureCode: QueryDocument | string | null; amount: QueryDocument },
): QueryDocument {
  const id = typeof computed.id === 'string' ? literal(computed.id) : computed.id;
  return outboxEntryShape<unknown>(id, template.at, {
    accountId: literal(template.accountId),
    licenseId: literal(template.licenseId),
    scope: literal(computed.scope),
    featureCode: computed.featureCode,
    deviceId: literal(template.deviceId),
    amount: computed.amount,
    periodResetAt: literal(template.periodResetAt),
    event: literal(template.event),
    requestId: literal(template.requestId),
    idempotencyKey: literal(template.idempotencyKey),
    at: template.at,
  });
}

/**
 * The license's outbox (as stored when a pipeline update applies) with the ledger entries whose amount
 * is not 0 appended (a change of 0 records nothing, as everywhere else), then the event entries.
 */
export function outboxAppendExpression(ledgerEntries: QueryDocument[] | QueryDocument, events: EventOutboxEntry[] = []): QueryDocument {
  const ledger = { $filter: { input: ledgerEntries, as: 'e', cond: { $ne: ['$$e.ledger.amount', 0] } } };
  const parts: unknown[] = [{ $ifNull: ['$outbox', []] }, ledger];
  if (events.length > 0) parts.push(literal(events));
  return { $concatArrays: parts };
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
    const deviceId = entry.ledger.deviceId;
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

/** Whether a ledger outbox entry records a change of the counter `target`. */
export function isEntryOf(entry: OutboxEntry, target: MeterTarget): boolean {
  return target.scope === 'license' ? entry.ledger.scope === 'license' : entry.ledger.scope === 'feature' && entry.ledger.featureCode === target.code;
}

/** The ledger entries of an outbox (as stored in a license document), in the order they were written. */
export function pendingLedgerEntries(outbox: ReadonlyArray<{ kind: string }> | undefined): OutboxEntry[] {
  return (outbox ?? []).filter((e): e is OutboxEntry => e.kind === 'ledger');
}
