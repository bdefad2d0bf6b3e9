import type { Request } from 'express';
import type { PublicUrls } from '../public-url.js';

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

/** Where pagination links start (PUBLIC_BASE_URL, or the request's validated Host). */
export type PageLinks = Pick<PublicUrls, 'linkBase'>;

function pageUrl(base: string, req: Request, page: number): string {
  // The request's path is appended to the base (never resolved against it), so a path such as
  // `//other.example/` stays a path of this server.
  const url = new URL(`${base}${req.originalUrl}`);
  url.searchParams.set('page', String(page));
  return url.toString();
}

/** The paginated list envelope: `{count, next, previous, results}` with absolute page URLs. */
export function paginated<T>(req: Request, links: PageLinks, page: Page, count: number, results: T[]) {
  const lastPage = Math.max(1, Math.ceil(count / page.pageSize));
  const hasNext = page.page < lastPage;
  const hasPrevious = page.page > 1;
  const base = hasNext || hasPrevious ? links.linkBase(req) : '';
  return {
    count,
    next: hasNext ? pageUrl(base, req, page.page + 1) : null,
    previous: hasPrevious ? pageUrl(base, req, Math.min(page.page - 1, lastPage)) : null,
    results,
  };
}
