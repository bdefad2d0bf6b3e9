/** Server-side cursors: results not yet returned, handed out batch by batch by getMore. */
import { calculateObjectSize, Long } from 'bson';
import type { Doc } from './values.js';

/** Keep each batch comfortably under the 16 MiB reply limit. */
const MAX_BATCH_BYTES = 15 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * A document of a batch as the BSON bytes it is stored as (no decode and re-encode for the reply:
 * wire/protocol.ts splices them into the batch array).
 */
export class RawDocument {
  constructor(readonly bytes: Uint8Array) {}
}

export interface CursorSource {
  ns: string;
  docs: Doc[];
  /** Transforms a stored document into the returned one (projection, or its stored bytes). */
  map?: ((doc: Doc) => Doc | RawDocument) | undefined;
}

interface OpenCursor extends CursorSource {
  id: Long;
  pos: number;
  lastUsed: number;
}

export interface Batch {
  batch: Array<Doc | RawDocument>;
  /** 0 when exhausted. */
  id: Long;
}

export class CursorRegistry {
  private readonly cursors = new Map<string, OpenCursor>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /** Returns the first batch and registers a cursor if more remain. */
  open(source: CursorSource, batchSize: number | undefined, singleBatch = false): Batch {
    const cursor: OpenCursor = { ...source, id: Long.ZERO, pos: 0, lastUsed: Date.now() };
    const batch = this.take(cursor, batchSize ?? 101);
    if (cursor.pos >= cursor.docs.length || singleBatch) return { batch, id: Long.ZERO };
    let id: Long;
    do {
      id = Long.fromBits((Math.random() * 0x7fffffff) | 0, (Math.random() * 0x3fffffff) | 0);
    } while (id.isZero() || this.cursors.has(id.toString()));
    cursor.id = id;
    this.cursors.set(id.toString(), cursor);
    return { batch, id };
  }

  /** How many cursors are open (serverStatus `metrics.cursor.open.total`). */
  get size(): number {
    return this.cursors.size;
  }

  get(id: Long | number): OpenCursor | undefined {
    return this.cursors.get(String(id));
  }

  next(cursor: OpenCursor, batchSize: number | undefined): Batch {
    cursor.lastUsed = Date.now();
    const batch = this.take(cursor, batchSize && batchSize > 0 ? batchSize : Infinity);
    if (cursor.pos >= cursor.docs.length) {
      this.cursors.delete(cursor.id.toString());
      return { batch, id: Long.ZERO };
    }
    return { batch, id: cursor.id };
  }

  kill(id: Long | number): boolean {
    return this.cursors.delete(String(id));
  }

  /** Forgets every open cursor (after a roll-back their results may no longer be true). */
  killAll(): void {
    this.cursors.clear();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.cursors.clear();
  }

  private take(cursor: OpenCursor, batchSize: number): Array<Doc | RawDocument> {
    const out: Array<Doc | RawDocument> = [];
    let bytes = 0;
    while (cursor.pos < cursor.docs.length && out.length < batchSize) {
      const raw = cursor.docs[cursor.pos]!;
      const doc = cursor.map ? cursor.map(raw) : raw;
      const size = doc instanceof RawDocument ? doc.bytes.length : calculateObjectSize(doc);
      if (out.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      out.push(doc);
      bytes += size;
      cursor.pos++;
    }
    return out;
  }

  private sweep(): void {
    const cutoff = Date.now() - IDLE_TIMEOUT_MS;
    for (const [key, c] of this.cursors) if (c.lastUsed < cutoff) this.cursors.delete(key);
  }
}
