/**
 * ENGINE-ONLY tests (use engine internals; skipped when MONGODB_URI is set) of what keeps a small
 * change to a large document cheap: updates share the untouched sub-trees of the old version,
 * the query view and positional matches of the new version reuse those of the old one, and the
 * journal holds a delta instead of the whole document, which rebuilds the new version exactly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Double, Long, ObjectId } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import { positionalMatchIndex } from '../query/positional.js';
import { Catalog } from '../storage/catalog.js';
import { applyDelta, diffDocuments, MAX_DELTA_CHANGES } from '../storage/delta.js';
import { Persistence, journalRecord } from '../storage/persistence.js';
import { encodeRecord, readRecordAt } from '../storage/records.js';
import { applyUpdate, classifyUpdate } from '../update/apply.js';
import { cloneValue, exactEqual, keyString, queryView, toQueryValue, type Doc } from '../values.js';

function update(doc: Doc, u: unknown, filter: Doc = { _id: doc._id }, arrayFilters?: Doc[]): Doc {
  return applyUpdate(doc, classifyUpdate(u), { filter, arrayFilters, isInsert: false });
}

function bigDoc(items: number): Doc {
  return {
    _id: new ObjectId(),
    key: 'k',
    total: Long.fromNumber(5),
    owner: { name: 'o', tags: ['a', 'b'] },
    items: Array.from({ length: items }, (_, i) => ({ name: `item-${i}`, used: 0, ratio: new Double(1), meta: { n: i } })),
  };
}

/** The journal record a change becomes, written and read back as the journal does. */
function throughJournal(prev: Doc, next: Doc): Doc {
  const buf = encodeRecord(journalRecord({ op: 'put', db: 'db', coll: 'c', doc: next, prev }));
  const r = readRecordAt(buf, 0, 2);
  if (r.kind !== 'ok') throw new Error(r.reason);
  return r.doc;
}

describe.skipIf(!!process.env.MONGODB_URI)('write cost of a small change to a large document (engine only)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('an operator update copies only the paths it changes and leaves the stored version as it was', () => {
    const doc = bigDoc(100);
    const before = cloneValue(doc);
    const next = update(doc, { $inc: { 'items.$.used': 2 }, $set: { 'owner.name': 'p' } }, { _id: doc._id, 'items.name': 'item-40' });
    expect(exactEqual(doc, before)).toBe(true);
    const items = next.items as Doc[];
    const old = doc.items as Doc[];
    expect(items[40]).toEqual({ name: 'item-40', used: 2, ratio: new Double(1), meta: { n: 40 } });
    expect(items[40]).not.toBe(old[40]);
    expect(items).not.toBe(old);
    // Untouched sub-trees are the very same objects.
    expect(items[39]).toBe(old[39]);
    expect(items[41]).toBe(old[41]);
    expect((items[40] as Doc).meta).toBe(old[40]!.meta);
    expect((next.owner as Doc).tags).toBe((doc.owner as Doc).tags);
    expect(next.total).toBe(doc.total);
    // Two operators under the same sub-document see each other's changes.
    const both = update(doc, { $inc: { 'owner.n': 1 }, $set: { 'owner.m': 2 } });
    expect(both.owner).toEqual({ name: 'o', tags: ['a', 'b'], n: 1, m: 2 });
    expect(doc.owner).toEqual({ name: 'o', tags: ['a', 'b'] });
  });

  it('the new version of a stored document gets its query view from the old one, sharing the unchanged parts', () => {
    const catalog = new Catalog();
    const coll = catalog.ensureCollection('db', 'c').coll;
    const doc = bigDoc(50);
    coll.insert(doc);
    const oldView = queryView(doc) as Doc;
    expect(oldView.total).toBe(5); // Long as a number for mingo
    const next = update(doc, { $inc: { 'items.3.used': 1 } });
    coll.replace(doc, next);
    const view = queryView(next) as Doc;
    expect(view).toEqual(toQueryValue(next));
    expect((view.items as Doc[])[3]).toEqual({ name: 'item-3', used: 1, ratio: 1, meta: { n: 3 } });
    expect((view.items as Doc[])[4]).toBe((oldView.items as Doc[])[4]);
    expect(view.owner).toBe(oldView.owner);
  });

  it('a positional match on a new version equals a fresh scan, whether the matched element still matches or not', () => {
    const catalog = new Catalog();
    const coll = catalog.ensureCollection('db', 'c').coll;
    let doc = bigDoc(20);
    coll.insert(doc);
    const filter = { _id: doc._id, items: { $elemMatch: { used: { $lt: 2 }, 'meta.n': { $gte: 5 } } } };
    const fresh = (d: Doc) => positionalMatchIndex(filter, cloneValue(d), 'items');
    expect(positionalMatchIndex(filter, doc, 'items')).toBe(5);
    const steps: Array<[unknown, number]> = [
      [{ $inc: { 'items.$.used': 1 } }, 5], // still matches
      [{ $inc: { 'items.$.used': 1 } }, 6], // no longer matches: the next one does
      [{ $set: { 'items.5.used': 0 } }, 5], // an earlier element matches again
      [{ $push: { items: { $each: [{ name: 'new', used: 0, meta: { n: 9 } }], $position: 0 } } }, 0],
    ];
    for (const [u, expected] of steps) {
      const next = update(doc, u, filter);
      coll.replace(doc, next);
      doc = next;
      expect(positionalMatchIndex(filter, doc, 'items')).toBe(expected);
      expect(fresh(doc)).toBe(expected);
    }
  });

  it('journals a small change to a large document as a delta of a few bytes', () => {
    const doc = bigDoc(10_000);
    const next = update(doc, { $inc: { 'items.$.used': 1 } }, { _id: doc._id, 'items.name': 'item-5000' });
    const record = journalRecord({ op: 'put', db: 'db', coll: 'c', doc: next, prev: doc });
    expect(record).toEqual({ op: 'upd', db: 'db', coll: 'c', id: doc._id, d: [{ s: ['items', 5000, 'used'], v: 1 }] });
    expect(encodeRecord(record).length).toBeLessThan(150);
    expect(encodeRecord(journalRecord({ op: 'put', db: 'db', coll: 'c', doc: next })).length).toBeGreaterThan(500_000);
  });

  it('a delta rebuilds the new version exactly: values, BSON types and field order', () => {
    const base: Doc = { _id: 1, a: 1, b: { c: 1, d: [1, 2, 3], e: { f: 'x' } }, g: [{ h: 1 }, { h: 2 }, { h: 3 }, { h: 4 }], n: 0, z: 'last' };
    const cases: Array<[unknown, Doc[]?]> = [
      [{ $set: { new: 1, 'b.new': { x: 1 } } }],
      [{ $unset: { a: '', 'b.e': '' } }],
      [{ $rename: { a: 'aa', 'b.c': 'b.cc' } }],
      [{ $inc: { n: 1.5, 'b.c': Long.fromNumber(2) } }],
      [{ $set: { n: new Double(3) } }],
      [{ $mul: { n: -1.0 } }], // 0 becomes -0
      [{ $push: { 'b.d': 4, g: { $each: [{ h: 0 }], $position: 1 } } }],
      [{ $pull: { g: { h: { $in: [2, 3] } } } }],
      [{ $pop: { 'b.d': -1 } }],
      [{ $set: { 'g.$[x].h': 9 } }, [{ 'x.h': { $gte: 3 } }]],
      [{ $set: { b: [1, 2] } }], // object to array
      [{ $set: { 'b.d.1': { deep: [1] } } }],
    ];
    for (const [u, arrayFilters] of cases) {
      const next = update(base, u, { _id: 1 }, arrayFilters);
      const rec = throughJournal(base, next);
      expect(rec.op, JSON.stringify(u)).toBe('upd');
      const rebuilt = applyDelta(base, rec.d as never);
      expect(exactEqual(rebuilt, next), JSON.stringify(u)).toBe(true);
      expect(keyString(rebuilt)).toBe(keyString(next));
      if (typeof next.n === 'number') expect(Object.is(rebuilt.n, next.n), JSON.stringify(u)).toBe(true); // -0 stays -0
    }
    // A field removed and set again moves to the end.
    const moved = update(update(base, { $unset: { a: '' } }), { $set: { a: 2 } });
    expect(Object.keys(moved)).toEqual(['_id', 'b', 'g', 'n', 'z', 'a']);
    expect(keyString(applyDelta(base, throughJournal(base, moved).d as never))).toBe(keyString(moved));
    // A new integer-like key (JavaScript orders those first) comes out in the same place too.
    for (const numeric of [update(base, { $set: { 'b.7': 1 } }), update(base, { $set: { '7': 1 } })]) {
      const rec = throughJournal(base, numeric);
      expect(rec.op).toBe('upd');
      expect(keyString(applyDelta(base, rec.d as never))).toBe(keyString(numeric));
    }
  });

  it('journals the whole document when a change is too large for a delta', () => {
    const doc: Doc = { _id: 1, ...Object.fromEntries(Array.from({ length: MAX_DELTA_CHANGES + 1 }, (_, i) => [`f${i}`, 0])) };
    const set = Object.fromEntries(Array.from({ length: MAX_DELTA_CHANGES + 1 }, (_, i) => [`f${i}`, 1]));
    const next = update(doc, { $set: set });
    expect(diffDocuments(doc, next)).toBeUndefined();
    expect(journalRecord({ op: 'put', db: 'db', coll: 'c', doc: next, prev: doc })).toEqual({ op: 'put', db: 'db', coll: 'c', doc: next });
  });

  it('recovers the exact documents from a journal of deltas, also across a compaction', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-delta-'));
    dirs.push(dir);
    const catalog = new Catalog();
    const p = await Persistence.open(dir, catalog);
    const coll = catalog.ensureCollection('db', 'c').coll;
    coll.createIndex({ key: { 'items.name': 1 }, name: 'items_name' });
    const doc = bigDoc(300);
    coll.insert(doc);
    const apply = (u: unknown, filter: Doc = { _id: doc._id }) => {
      const cur = coll.getById(doc._id)!;
      coll.replace(cur, update(cur, u, filter));
    };
    for (let i = 0; i < 50; i++) apply({ $inc: { 'items.$.used': 1, total: 1 } }, { _id: doc._id, 'items.name': `item-${i * 5}` });
    await p.compact();
    apply({ $push: { items: { name: 'added', used: 7 } } });
    apply({ $pull: { items: { name: 'item-2' } } });
    apply({ $rename: { key: 'renamed' } });
    apply({ $unset: { 'owner.tags': '' } });
    const expected = coll.getById(doc._id)!;
    await p.close();

    const again = new Catalog();
    const p2 = await Persistence.open(dir, again);
    const restored = again.getCollection('db', 'c')!;
    expect(exactEqual(restored.getById(doc._id), expected)).toBe(true);
    expect(keyString(restored.getById(doc._id))).toBe(keyString(expected));
    // The index was rebuilt from the restored document.
    expect([...(restored.indexes.get('items_name')!.lookup([keyString('added')]) ?? [])]).toHaveLength(1);
    expect(restored.indexes.get('items_name')!.lookup([keyString('item-2')])).toBeUndefined();
    await p2.close();
  });
});
