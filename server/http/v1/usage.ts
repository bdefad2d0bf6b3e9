import { Router, type Request } from 'express';
import type { LedgerEntry } from '../../domain/types.js';
import { isCountedEvent, type LedgerPosition, type UsageInterval } from '../../domain/usage.js';
import { ApiError } from '../api-error.js';
import { accountOf } from './auth.js';
import type { ManagementApiDeps } from './router.js';

const idOf = (req: Request): number => Number(req.params.id);
const DEFAULT_LEDGER_PAGE_SIZE = 100;

/** The query's filters (already validated against the spec: dates are date-times, the device an integer). */
function filtersOf(req: Request) {
  const q = req.query as Record<string, string | undefined>;
  return {
    ...(q.feature !== undefined ? { featureCode: q.feature } : {}),
    ...(q.device !== undefined ? { deviceId: Number(q.device) } : {}),
    ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
    ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
  };
}

/** The opaque cursor: base64url of the last entry's time and id. */
function encodeCursor(p: LedgerPosition): string {
  return Buffer.from(JSON.stringify([p.at.getTime(), p.id])).toString('base64url');
}

function decodeCursor(cursor: string): LedgerPosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'number' && Number.isSafeInteger(at) && typeof id === 'string') return { at: new Date(at), id };
  } catch {
    // answered below
  }
  throw new ApiError(400, 'validation_failed', 'cursor: not a cursor this API returned');
}

function toV1LedgerEntry(e: LedgerEntry) {
  return {
    id: e.id,
    scope: e.scope,
    feature: e.featureCode,
    device: e.deviceId,
    amount: e.amount,
    total_after: e.totalAfter,
    period_end: e.periodResetAt ? e.periodResetAt.toISOString() : null,
    event: e.event,
    counted: isCountedEvent(e.event),
    request_id: e.requestId,
    idempotency_key: e.idempotencyKey,
    at: e.at.toISOString(),
  };
}

/** A license's usage report and ledger pages. */
export function usageRoutes(services: Pick<ManagementApiDeps, 'usage'>): Router {
  const router = Router();

  router.get('/licenses/:id/usage/', async (req, res) => {
    const filters = filtersOf(req);
    const interval = (req.query.interval as UsageInterval | undefined) ?? 'day';
    const timeZone = (req.query.tz as string | undefined) ?? 'UTC';
    const report = await services.usage.report({ accountId: accountOf(res).id, licenseId: idOf(req), ...filters, from: filters.from!, to: filters.to!, interval, timeZone });
    res.json({
      license: idOf(req),
      scope: report.scope,
      feature: filters.featureCode ?? null,
      device: filters.deviceId ?? null,
      from: filters.from!.toISOString(),
      to: filters.to!.toISOString(),
      interval,
      tz: timeZone,
      buckets: report.buckets.map((b) => ({ start: b.start.toISOString(), end: b.end.toISOString(), consumed: b.consumed, refunded: b.refunded, net: b.net, count: b.count })),
      totals: report.totals,
    });
  });

  router.get('/licenses/:id/ledger/', async (req, res) => {
    const q = req.query as { cursor?: string; page_size?: string };
    const after = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
    const limit = q.page_size !== undefined ? Number(q.page_size) : DEFAULT_LEDGER_PAGE_SIZE;
    const page = await services.usage.ledgerPage({ accountId: accountOf(res).id, licenseId: idOf(req), ...filtersOf(req), after, limit });
    res.json({ next_cursor: page.next ? encodeCursor(page.next) : null, results: page.entries.map(toV1LedgerEntry) });
  });

  return router;
}
