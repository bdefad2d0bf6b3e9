/** A MongoDB filter or update document, loosely typed: the domain's plain query documents (domain/query-forms.ts). */
export type { QueryDocument as FilterQuery } from '../domain/query-forms.js';
