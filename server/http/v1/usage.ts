import { Router, type Request } from 'express';
import type { LedgerEntry } from '../../domain/types.js';
import { isCountedEvent, type LedgerPosition, type UsageInterval, type UsageReport } from '../../domain/usage.js';
import { ApiError } from '../api-error.js';
import { accountOf } from './auth.js';
import { pageOf, paginated } from './pagination.js';
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

/** A report's range and interval (`from` and `to` are required by the spec). */
function reportQueryOf(req: Request) {
  const filters = filtersOf(req);
  return { ...filters, from: filters.from!, to: filters.to!, interval: (req.query.interval as UsageInterval | undefined) ?? 'day', timeZone: (req.query.tz as string | undefined) ?? 'UTC' };
}

function toV1Usage(licenseId: number, query: ReturnType<typeof reportQueryOf>, report: UsageReport) {
  return {
    license: licenseId,
    scope: report.scope,
    feature: query.featureCode ?? null,
    device: query.deviceId ?? null,
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    interval: query.interval,
    tz: query.timeZone,
    buckets: report.buckets.map((b) => ({ start: b.start.toISOString(), end: b.end.toISOString(), consumed: b.consumed, refunded: b.refunded, net: b.net, count: b.count })),
    totals: report.totals,
  };
}

/** A license's usage report and ledger pages, and a product's usage per license. */
export function usageRoutes(services: Pick<ManagementApiDeps, 'usage' | 'links'>): Router {
  const router = Router();

  router.get('/licenses/:id/usage/', async (req, res) => {
    const query = reportQueryOf(req);
    const report = await services.usage.report({ accountId: accountOf(res).id, licenseId: idOf(req), ...query });
    res.json(toV1Usage(idOf(req), query, report));
  });

  router.get('/usage/', async (req, res) => {
    const query = reportQueryOf(req);
    const page = pageOf(req);
    const { count, items } = await services.usage.productReport({
      accountId: accountOf(res).id,
      productId: Number(req.query.product),
      ...(query.featureCode !== undefined ? { featureCode: query.featureCode } : {}),
      from: query.from,
      to: query.to,
      interval: query.interval,
      timeZone: query.timeZone,
      skip: page.skip,
      limit: page.pageSize,
    });
    res.json(paginated(req, services.links, page, count, items.map((i) => toV1Usage(i.licenseId, query, i.report))));
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
