import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('server and administrative commands', () => {
  const h = useDatabase();

  it('ping', async () => {
    expect(await h.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it('hello / isMaster describe a writable server with sessions', async () => {
    const hello = await h.db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(17);
    expect(typeof hello.logicalSessionTimeoutMinutes).toBe('number');
    expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024);
    const legacy = await h.db.admin().command({ isMaster: 1 });
    expect(legacy.ismaster).toBe(true);
  });

  it('buildInfo reports a version', async () => {
    const info = await h.db.admin().command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(Array.isArray(info.versionArray)).toBe(true);
  });

  it('getParameter featureCompatibilityVersion', async () => {
    const res = await h.db.admin().command({ getParameter: 1, featureCompatibilityVersion: 1 });
    expect(res.ok).toBe(1);
    expect(res.featureCompatibilityVersion.version).toMatch(/^\d+\.\d+$/);
  });

  it('endSessions is accepted and explicit sessions work', async () => {
    const session = h.client.startSession();
    await h.db.collection('sessions').insertOne({ a: 1 }, { session });
    expect(await h.db.collection('sessions').countDocuments({}, { session })).toBe(1);
    await session.endSession();
    expect(await h.db.admin().command({ endSessions: [session.id] })).toMatchObject({ ok: 1 });
  });

  it('listDatabases includes the test database once it has data', async () => {
    await h.db.collection('anything').insertOne({ x: 1 });
    const res = await h.db.admin().listDatabases();
    expect(res.databases.map((d) => d.name)).toContain(h.tdb.dbName);
    const names = await h.db.admin().listDatabases({ nameOnly: true });
    expect(names.databases.map((d) => d.name)).toContain(h.tdb.dbName);
  });

  it('an unknown command answers CommandNotFound (59)', async () => {
    const err = await h.db.command({ definitelyNotACommand: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
    expect((err as Error).message).toMatch(/no such (command|cmd)/i);
  });

  it('an unknown query operator answers BadValue (2)', async () => {
    await h.db.collection('ops').insertOne({ a: 1 });
    await expect(h.db.collection('ops').find({ a: { $definitelyNotAnOperator: 1 } }).toArray()).rejects.toMatchObject({
      code: 2,
      message: expect.stringMatching(/unknown operator/i),
    });
  });

  it('an unknown update operator fails to parse (9)', async () => {
    await expect(
      h.db.collection('ops').updateOne({ a: 1 }, { $definitelyNotAnOperator: { a: 2 } } as never),
    ).rejects.toMatchObject({ code: 9 });
  });

  it('an unknown pipeline stage answers 40324', async () => {
    await expect(h.db.collection('ops').aggregate([{ $definitelyNotAStage: {} }]).toArray()).rejects.toMatchObject({
      code: 40324,
    });
  });

  it('a getMore on an unknown cursor answers CursorNotFound (43)', async () => {
    const err = await h.db
      .command({ getMore: 123456789n as never, collection: 'ops' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 43, codeName: 'CursorNotFound' });
  });

  it('explain describes a query plan', async () => {
    const plan = await h.db.collection('ops').find({ a: 1 }).explain();
    expect(plan.queryPlanner).toBeDefined();
    expect(plan.queryPlanner.winningPlan).toBeDefined();
  });

  it('the connection keeps working after errors', async () => {
    await h.db.command({ nope: 1 }).catch(() => undefined);
    expect(await h.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });
});
