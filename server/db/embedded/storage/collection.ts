/**
 * A collection: its documents (a compact `DocStore`: BSON bytes, found by `_id`, in insertion
 * order) plus secondary indexes over their slots. Documents are never mutated; writes replace them
 * (copy-on-write), so cursors can hold on to the documents they were given. Every change is reported to the storage's change listener
 * (the journal), synchronously and after it has been applied.
 */
import { Binary, UUID } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { inheritPositionalMatch } from '../query/positional.js';
import { inheritQueryView, keyString, type Doc } from '../values.js';
import { applyDelta, type DeltaChange } from './delta.js';
import { DocStore, type EncodedDocs, type FieldSelection } from './docstore.js';
import { Index, duplicateKeyError, normalizeIndexSpec, sameIndexOptions, type IndexSpec } from './indexes.js';

export type ChangeOp =
  /** `prev`: the version `doc` replaces (never journaled itself; the journal may write a delta from it). */
  | { op: 'put'; db: string; coll: string; doc: Doc; prev?: Doc }
  /** Journal only: the changes (`delta.ts`) that turn the stored document with this `_id` into its next version. */
  | { op: 'upd'; db: string; coll: string; id: unknown; d: DeltaChange[] }
  | { op: 'del'; db: string; coll: string; id: unknown }
  | { op: 'createColl'; db: string; coll: string; options: Doc; uuid: Binary }
  | { op: 'dropColl'; db: string; coll: string }
  | { op: 'dropDb'; db: string }
  | { op: 'createIndex'; db: string; coll: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; coll: string; name: string };

export type ChangeListener = (change: ChangeOp) => void;

export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  private readonly store = new DocStore();
  readonly indexes = new Map<string, Index>();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Doc,
    readonly uuid: Binary,
    private readonly emit: ChangeListener,
  ) {}

  static newUuid(): Binary {
    return new UUID().toBinary();
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.store.size;
  }

  /** The document with this `_id` (kept decoded among the collection's hot documents). */
  getById(id: unknown): Doc | undefined {
    const slot = this.store.findSlot(id);
    return slot < 0 ? undefined : this.store.read(slot);
  }

  /** Every document, in insertion order (with `fields`: only those top-level fields, for reading). */
  all(fields?: FieldSelection): IterableIterator<Doc> {
    return fields ? this.store.docsWithFields(fields) : this.store.docs();
  }

  /** Where every document's BSON bytes are, in insertion order (valid whatever happens later: `DocStore.capture`). */
  capture(): EncodedDocs {
    return this.store.capture();
  }

  /** Memory held by the documents (diagnostics, tests). */
  storageStats(): ReturnType<DocStore['stats']> {
    return this.store.stats();
  }

  /**
   * Documents of `index` whose first `keys.length` fields equal `keys` (key strings). A handful of
   * them is kept decoded among the hot documents; a larger group (a scan of one key) is not. With
   * `fields` (which must hold the index's fields): only those top-level fields, for reading.
   */
  lookup(index: Index, keys: string[], fields?: FieldSelection): Doc[] {
    return index.lookup(keys, this.indexReader(index.candidateCount(keys), fields)) ?? [];
  }

  /**
   * How to read `count` documents found through an index (as `lookup` reads them); with `fields`
   * (which must hold the index's fields): only those top-level fields, for reading.
   */
  indexReader(count: number, fields?: FieldSelection): (slot: number) => Doc {
    if (fields) return (s) => this.store.peekFields(s, fields);
    return count <= 8 ? (s) => this.store.read(s) : (s) => this.store.peek(s);
  }

  /** The BSON bytes of `doc` as stored, when it is still the current version (see DocStore.storedBytes). */
  storedBytes(doc: Doc): Uint8Array | undefined {
    return this.store.storedBytes(doc);
  }

  /** The documents of these live slots (as an index gave them), in that order. */
  readSlots(slots: readonly number[]): Doc[] {
    return slots.map((s) => this.store.peek(s));
  }

  /** Inserts a new document (which must have an `_id`). Throws E11000 without changing anything. */
  insert(doc: Doc): void {
    const idKey = keyString(doc._id);
    if (this.store.findSlot(doc._id, idKey) >= 0) throw duplicateKeyError(this.ns, '_id_', { _id: 1 }, { _id: doc._id });
    const entries = [...this.indexes.values()].map((ix) => ix.entries(doc));
    let i = 0;
    for (const ix of this.indexes.values()) ix.checkUnique(this.ns, doc, entries[i++]);
    const slot = this.store.insert(doc, idKey);
    i = 0;
    for (const ix of this.indexes.values()) ix.add(slot, entries[i++]);
    this.emit({ op: 'put', db: this.db, coll: this.name, doc });
  }

  /** Replaces a stored document with a new version (same `_id`). Throws E11000 without changing anything. */
  replace(old: Doc, next: Doc): void {
    const slot = this.store.currentSlot(old);
    if (slot < 0) fail(ErrorCodes.InternalError, 'document changed concurrently');
    const oldEntries = [...this.indexes.values()].map((ix) => ix.entries(old));
    const newEntries = [...this.indexes.values()].map((ix) => ix.entries(next));
    let i = 0;
    for (const ix of this.indexes.values()) ix.checkUnique(this.ns, next, newEntries[i++], slot);
    i = 0;
    for (const ix of this.indexes.values()) {
      ix.update(slot, oldEntries[i], newEntries[i]);
      i++;
    }
    this.store.replace(slot, next);
    inheritQueryView(old, next);
    inheritPositionalMatch(old, next);
    this.emit({ op: 'put', db: this.db, coll: this.name, doc: next, prev: old });
  }

  remove(doc: Doc): void {
    const slot = this.store.currentSlot(doc);
    if (slot < 0) return;
    for (const ix of this.indexes.values()) ix.remove(slot, ix.entries(doc));
    this.store.delete(slot);
    this.emit({ op: 'del', db: this.db, coll: this.name, id: doc._id });
  }

  /** Used by journal replay: insert or replace by `_id`, without uniqueness checks or events (`bytes`: the document's BSON, if known). */
  restorePut(doc: Doc, bytes?: Uint8Array): void {
    const idKey = keyString(doc._id);
    const slot = this.store.findSlot(doc._id, idKey);
    if (slot < 0) {
      const s = this.store.insert(doc, idKey, bytes);
      for (const ix of this.indexes.values()) ix.add(s, ix.entries(doc));
      return;
    }
    const old = this.store.peek(slot);
    for (const ix of this.indexes.values()) ix.update(slot, ix.entries(old), ix.entries(doc));
    this.store.replace(slot, doc);
  }

  /** Used by journal replay: applies a delta to the stored document with this `_id`; throws when there is none. */
  restoreUpdate(id: unknown, changes: DeltaChange[]): void {
    const slot = this.store.findSlot(id);
    if (slot < 0) fail(ErrorCodes.BadValue, `journal delta for a document that does not exist: ${this.ns} _id ${keyString(id)}`);
    this.restorePut(applyDelta(this.store.peek(slot), changes));
  }

  restoreDelete(id: unknown): void {
    const slot = this.store.findSlot(id);
    if (slot < 0) return;
    const old = this.store.peek(slot);
    for (const ix of this.indexes.values()) ix.remove(slot, ix.entries(old));
    this.store.delete(slot);
  }

  indexSpecs(): IndexSpec[] {
    return [ID_INDEX_SPEC, ...[...this.indexes.values()].map((ix) => ix.spec)];
  }

  /** Creates an index; returns false when an identical one already exists. */
  createIndex(rawSpec: unknown, options: { replay?: boolean } = {}): boolean {
    const spec = normalizeIndexSpec(rawSpec);
    const keyStr = keyString(spec.key);
    if (spec.name === '_id_' || keyStr === keyString({ _id: 1 })) {
      if (keyStr === keyString({ _id: 1 }) && (spec.name === '_id_' || !spec.unique)) return false;
      fail(ErrorCodes.IndexKeySpecsConflict, `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(spec)}`);
    }
    const sameName = this.indexes.get(spec.name);
    if (sameName) {
      if (sameIndexOptions(sameName.spec, spec)) return false;
      fail(
        ErrorCodes.IndexKeySpecsConflict,
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
      );
    }
    for (const ix of this.indexes.values()) {
      if (keyString(ix.spec.key) === keyStr && keyString(ix.spec.partialFilterExpression ?? null) === keyString(spec.partialFilterExpression ?? null)) {
        if (sameIndexOptions(ix.spec, spec)) {
          fail(ErrorCodes.IndexOptionsConflict, `Index already exists with a different name: ${ix.name}`);
        }
        fail(ErrorCodes.IndexOptionsConflict, `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(ix.spec)}`);
      }
    }
    const index = new Index(spec, this.store);
    for (const slot of this.store.liveSlots()) {
      const doc = this.store.peek(slot);
      const entries = index.entries(doc);
      if (!options.replay) index.checkUnique(this.ns, doc, entries);
      index.add(slot, entries);
    }
    this.indexes.set(spec.name, index);
    if (!options.replay) this.emit({ op: 'createIndex', db: this.db, coll: this.name, spec });
    return true;
  }

  dropIndex(name: string, options: { replay?: boolean } = {}): void {
    if (name === '_id_') fail(ErrorCodes.InvalidOptions, 'cannot drop _id index');
    if (!this.indexes.delete(name)) fail(ErrorCodes.IndexNotFound, `index not found with name [${name}]`);
    if (!options.replay) this.emit({ op: 'dropIndex', db: this.db, coll: this.name, name });
  }

  findIndexByKey(key: Doc): Index | undefined {
    const k = keyString(key);
    for (const ix of this.indexes.values()) if (keyString(ix.spec.key) === k) return ix;
    return undefined;
  }
}
