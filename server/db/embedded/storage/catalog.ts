/** The catalog: databases → collections, plus the change listener shared by all collections. */
import { ErrorCodes, fail } from '../errors.js';
import type { Doc } from '../values.js';
import { Collection, type ChangeListener, type ChangeOp } from './collection.js';

export function validateNames(db: string, coll?: string): void {
  if (!db || /[/\\. "$\0]/.test(db)) fail(ErrorCodes.InvalidNamespace, `Invalid database name: '${db}'`);
  if (coll !== undefined) {
    if (!coll || coll.includes('\0') || coll.startsWith('.') || coll.includes('$')) {
      fail(ErrorCodes.InvalidNamespace, `Invalid collection name: ${coll}`);
    }
  }
}

export class Catalog {
  readonly dbs = new Map<string, Map<string, Collection>>();
  /** Receives every change (the journal); null while replaying. */
  listener: ChangeListener | null = null;
  private readonly emit: ChangeListener = (change) => this.listener?.(change);

  getCollection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  /** Returns the collection, creating it implicitly (as inserts and createIndexes do). */
  ensureCollection(db: string, name: string): { coll: Collection; created: boolean } {
    const existing = this.getCollection(db, name);
    if (existing) return { coll: existing, created: false };
    return { coll: this.createCollection(db, name, {}), created: true };
  }

  createCollection(db: string, name: string, options: Doc, uuid = Collection.newUuid(), replay = false): Collection {
    validateNames(db, name);
    if (this.getCollection(db, name)) fail(ErrorCodes.NamespaceExists, `Collection ${db}.${name} already exists.`);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const coll = new Collection(db, name, options, uuid, this.emit);
    colls.set(name, coll);
    if (!replay) this.emit({ op: 'createColl', db, coll: name, options, uuid });
    return coll;
  }

  dropCollection(db: string, name: string, replay = false): Collection | undefined {
    const colls = this.dbs.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return undefined;
    colls.delete(name);
    if (colls.size === 0) this.dbs.delete(db);
    if (!replay) this.emit({ op: 'dropColl', db, coll: name });
    return coll;
  }

  dropDatabase(db: string, replay = false): void {
    this.dbs.delete(db);
    if (!replay) this.emit({ op: 'dropDb', db });
  }

  /**
   * Replaces the whole state with `fresh`'s, synchronously (roll-back to what is on disk). The
   * moved collections keep emitting their changes to this catalog's listener.
   */
  replaceWith(fresh: Catalog): void {
    this.dbs.clear();
    for (const [name, colls] of fresh.dbs) this.dbs.set(name, colls);
    fresh.dbs.clear();
    fresh.listener = (change) => this.listener?.(change);
  }

  /** Applies a journaled change (replay after a restart); `docBytes`: a `put`'s document as BSON bytes, when known. */
  apply(change: ChangeOp, docBytes?: Uint8Array): void {
    switch (change.op) {
      case 'put':
        this.replayCollection(change.db, change.coll).restorePut(change.doc, docBytes);
        break;
      case 'upd': {
        const coll = this.getCollection(change.db, change.coll);
        if (!coll) fail(ErrorCodes.BadValue, `journal delta for a collection that does not exist: ${change.db}.${change.coll}`);
        coll.restoreUpdate(change.id, change.d);
        break;
      }
      case 'del':
        this.getCollection(change.db, change.coll)?.restoreDelete(change.id);
        break;
      case 'createColl':
        if (!this.getCollection(change.db, change.coll)) {
          this.createCollection(change.db, change.coll, change.options, change.uuid, true);
        }
        break;
      case 'dropColl':
        this.dropCollection(change.db, change.coll, true);
        break;
      case 'dropDb':
        this.dropDatabase(change.db, true);
        break;
      case 'createIndex': {
        const coll = this.replayCollection(change.db, change.coll);
        if (!coll.indexes.has(change.spec.name)) coll.createIndex(change.spec, { replay: true });
        break;
      }
      case 'dropIndex':
        this.getCollection(change.db, change.coll)?.indexes.delete(change.name);
        break;
    }
  }

  private replayCollection(db: string, name: string): Collection {
    return this.getCollection(db, name) ?? this.createCollection(db, name, {}, Collection.newUuid(), true);
  }
}
