import { Router, type Request, type Response } from 'express';
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

/** The ledger export's columns: a JSON ledger entry's fields, in its order. */
const CSV_COLUMNS = ['id', 'scope', 'feature', 'device', 'amount', 'total_after', 'period_end', 'event', 'counted', 'request_id', 'idempotency_key', 'at'] as const;

/** One RFC 4180 field: quoted when it holds a quote, a comma or a line break (quotes doubled); null is empty. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvRow = (fields: readonly unknown[]) => `${fields.map(csvField).join(',')}\r\n`;

type ExportFormat = 'csv' | 'ndjson';

/** Characters of rows an export writes at once. */
const WRITE_CHUNK = 64 * 1024;

/** The export a request asks for (`?format=` first, then `Accept`), or null for a JSON page. */
function exportFormatOf(req: Request): ExportFormat | null {
  const format = req.query.format as string | undefined;
  if (format === 'csv' || format === 'ndjson') return format;
  if (format === 'json') return null;
  const accepted = req.accepts(['application/json', 'text/csv', 'application/x-ndjson']);
  return accepted === 'text/csv' ? 'csv' : accepted === 'application/x-ndjson' ? 'ndjson' : null;
}

/** Resolves when the response's buffer has drained or the connection has closed. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes the rows as they are read: each row waits for the socket to drain when its buffer is
 * full, and a client that goes away ends the read (leaving the loop closes the database cursor).
 */
async function streamRows<C extends string>(res: Response, format: ExportFormat, columns: readonly C[], rows: AsyncIterable<Record<C, unknown>>): Promise<void> {
  res.status(200).type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  if (format === 'csv') res.write(csvRow(columns));
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  res.once('close', onClose);
  // Rows go out in chunks of about WRITE_CHUNK characters (one write per row would frame each row as a chunk of its own).
  let pending = '';
  try {
    for await (const row of rows) {
      if (gone) break;
      pending += format === 'csv' ? csvRow(columns.map((c) => row[c])) : `${JSON.stringify(row)}\n`;
      if (pending.length < WRITE_CHUNK) continue;
      const full = !res.write(pending);
      pending = '';
      if (full) await drained(res);
    }
  } finally {
    res.off('close', onClose);
  }
  if (!gone) res.end(pending);
}

async function* toAsync<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}

async function* ledgerRows(entries: AsyncIterable<LedgerEntry>) {
  for await (const entry of entries) yield toV1LedgerEntry(entry);
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

/** The usage exports' columns: one row per license and bucket. */
const USAGE_COLUMNS = ['license', 'scope', 'feature', 'device', 'tz', 'start', 'end', 'consumed', 'refunded', 'net', 'count'] as const;

/** A report's buckets as export rows (the totals are left out: a column's sum gives them). */
function usageRows(usage: ReturnType<typeof toV1Usage>): Array<Record<(typeof USAGE_COLUMNS)[number], unknown>> {
  return usage.buckets.map((b) => ({ license: usage.license, scope: usage.scope, feature: usage.feature, device: usage.device, tz: usage.tz, ...b }));
}

/** Licenses per aggregation of a product export. */
const PRODUCT_EXPORT_PAGE = 100;

/** A license's usage report and ledger pages, and a product's usage per license. */
export function usageRoutes(services: Pick<ManagementApiDeps, 'usage' | 'links'>): Router {
  const router = Router();

  router.get('/licenses/:id/usage/', async (req, res) => {
    const query = reportQueryOf(req);
    const report = await services.usage.report({ accountId: accountOf(res).id, licenseId: idOf(req), ...query });
    const usage = toV1Usage(idOf(req), query, report);
    const format = exportFormatOf(req);
    if (format) await streamRows(res, format, USAGE_COLUMNS, toAsync(usageRows(usage)));
    else res.json(usage);
  });

  router.get('/usage/', async (req, res) => {
    const query = reportQueryOf(req);
    const reportPage = (skip: number, limit: number) =>
      services.usage.productReport({
        accountId: accountOf(res).id,
        productId: Number(req.query.product),
        ...(query.featureCode !== undefined ? { featureCode: query.featureCode } : {}),
        from: query.from,
        to: query.to,
        interval: query.interval,
        timeZone: query.timeZone,
        skip,
        limit,
      });
    const format = exportFormatOf(req);
    if (format) {
      // The first page is read before the answer starts, so a refusal (product, range) is a JSON error.
      const first = await reportPage(0, PRODUCT_EXPORT_PAGE);
      const rows = async function* () {
        let page = first;
        for (let skip = 0; ; ) {
          for (const item of page.items) yield* usageRows(toV1Usage(item.licenseId, query, item.report));
          if (page.items.length < PRODUCT_EXPORT_PAGE) return;
          skip += PRODUCT_EXPORT_PAGE;
          page = await reportPage(skip, PRODUCT_EXPORT_PAGE);
        }
      };
      await streamRows(res, format, USAGE_COLUMNS, rows());
      return;
    }
    const page = pageOf(req);
    const { count, items } = await reportPage(page.skip, page.pageSize);
    res.json(paginated(req, services.links, page, count, items.map((i) => toV1Usage(i.licenseId, query, i.report))));
  });

  router.get('/licenses/:id/ledger/', async (req, res) => {
    const q = req.query as { cursor?: string; page_size?: string };
    const after = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
    const format = exportFormatOf(req);
    if (format) {
      const entries = await services.usage.ledgerEntries({ accountId: accountOf(res).id, licenseId: idOf(req), ...filtersOf(req), after });
      await streamRows(res, format, CSV_COLUMNS, ledgerRows(entries));
      return;
    }
    const limit = q.page_size !== undefined ? Number(q.page_size) : DEFAULT_LEDGER_PAGE_SIZE;
    const page = await services.usage.ledgerPage({ accountId: accountOf(res).id, licenseId: idOf(req), ...filtersOf(req), after, limit });
    res.json({ next_cursor: page.next ? encodeCursor(page.next) : null, results: page.entries.map(toV1LedgerEntry) });
  });

  return router;
}
