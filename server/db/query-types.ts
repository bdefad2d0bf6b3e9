/** A MongoDB filter or update document, loosely typed (repositories own their shapes). */
export type FilterQuery = Record<string, unknown>;
