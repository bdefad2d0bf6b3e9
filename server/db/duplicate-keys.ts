/** The part of a driver collection used here (mongoose's and the driver's types differ in detail). */
interface InsertManyTarget {
  insertMany(docs: never[], options: { ordered: boolean }): Promise<unknown>;
}

/** Whether a write failed on a unique index (E11000). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number }).code === 11000 || /E11000/.test(String((err as Error).message));
}

/**
 * Inserts documents in one unordered round trip, where a document whose `_id` is already stored is
 * not an error (a repeated move of the same outbox entry). Returns the positions of those documents;
 * any other write error is thrown.
 */
export async function insertManyIgnoringDuplicates(collection: InsertManyTarget, docs: object[]): Promise<Set<number>> {
  const duplicates = new Set<number>();
  if (docs.length === 0) return duplicates;
  try {
    await collection.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
    // Duplicates alone are fine; a write that is not durable (writeConcernError besides them) is not.
    if ((err as { result?: { getWriteConcernError?: () => unknown } }).result?.getWriteConcernError?.()) throw err;
    for (const e of list) duplicates.add(e.index);
  }
  return duplicates;
}
