import type { Request } from 'express';

export interface Page {
  page: number;
  pageSize: number;
  skip: number;
}

const DEFAULT_PAGE_SIZE = 20;

/** `?page=&page_size=` (validated against the spec before a route runs). */
export function pageOf(req: Request): Page {
  const page = Number(req.query.page ?? 1);
  const pageSize = Number(req.query.page_size ?? DEFAULT_PAGE_SIZE);
  return { page, pageSize, skip: (page - 1) * pageSize };
}

function pageUrl(req: Request, page: number): string {
  const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host') ?? 'localhost'}`);
  url.searchParams.set('page', String(page));
  return url.toString();
}

/** The paginated list envelope: `{count, next, previous, results}` with absolute page URLs. */
export function paginated<T>(req: Request, page: Page, count: number, results: T[]) {
  const lastPage = Math.max(1, Math.ceil(count / page.pageSize));
  return {
    count,
    next: page.page < lastPage ? pageUrl(req, page.page + 1) : null,
    previous: page.page > 1 ? pageUrl(req, Math.min(page.page - 1, lastPage)) : null,
    results,
  };
}
