import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/connection.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/db/embedded/index.js';
import { WEBHOOK_RETENTION_SECONDS } from '../../server/db/models.js';
import { createLogger } from '../../server/logger.js';
import { startTestDomain, type TestDomain } from '../support/domain.js';

const DAY = 24 * 3600 * 1000;

/**
 * Webhook events and finished deliveries are kept 30 days (TTL indexes, deleted by the database's
 * TTL monitor), so the collections do not grow with history; a pending delivery is never deleted.
 */
describe('webhook retention', () => {
  let t: TestDomain;
  beforeAll(async () => {
    t = await startTestDomain();
  });
  afterAll(async () => t?.stop());

  it('has a 30-day TTL index on events.createdAt and webhook_deliveries.completedAt', async () => {
    expect(WEBHOOK_RETENTION_SECONDS).toBe(30 * 24 * 3600);
    const ttl = async (collection: { listIndexes(): { toArray(): Promise<Array<{ key: object; expireAfterSeconds?: number }>> } }) =>
      (await collection.listIndexes().toArray()).filter((ix) => ix.expireAfterSeconds !== undefined).map((ix) => ({ key: ix.key, expireAfterSeconds: ix.expireAfterSeconds }));
    expect(await ttl(t.db.models.Event.collection)).toEqual([{ key: { createdAt: 1 }, expireAfterSeconds: WEBHOOK_RETENTION_SECONDS }]);
    expect(await ttl(t.db.models.WebhookDelivery.collection)).toEqual([{ key: { completedAt: 1 }, expireAfterSeconds: WEBHOOK_RETENTION_SECONDS }]);
  });

  // ENGINE-ONLY (runs the embedded engine's TTL pass on demand; MongoDB's monitor runs once a minute).
  describe.skipIf(!!process.env.MONGODB_URI)('with the TTL pass run now (embedded engine)', () => {
    let engine: EmbeddedMongo;
    let db: Database;
    beforeAll(async () => {
      engine = await startEmbeddedMongo();
      db = await openDatabase({ uri: engine.uri, dbName: 'retention', logger: createLogger('silent') });
    });
    afterAll(async () => {
      await db?.close();
      await engine?.stop();
    });

    it('deletes events and finished deliveries older than 30 days, and keeps pending deliveries', async () => {
      const now = Date.now();
      const ago = (days: number) => new Date(now - days * DAY);
      const event = (id: string, createdAt: Date) => ({ _id: id, accountId: 1, type: 'license.updated', subject: 'license:1', data: {}, createdAt, seq: 1, fannedOut: true });
      await db.models.Event.collection.insertMany([event('old', ago(31)), event('recent', ago(29))] as never[]);
      const delivery = (id: string, createdAt: Date, completedAt: Date | null) => ({ _id: id, accountId: 1, subscriptionId: 'wh_1', eventId: 'old', status: completedAt ? 'delivered' : 'pending', createdAt, completedAt });
      await db.models.WebhookDelivery.collection.insertMany([
        delivery('finished-long-ago', ago(40), ago(31)),
        delivery('finished-lately', ago(40), ago(29)),
        delivery('still-pending', ago(40), null),
      ] as never[]);

      expect(engine.sweepExpired(now)).toBe(2);
      expect((await db.models.Event.find({}, { _id: 1 }).lean<Array<{ _id: string }>>()).map((d) => d._id)).toEqual(['recent']);
      expect((await db.models.WebhookDelivery.find({}, { _id: 1 }).sort({ _id: 1 }).lean<Array<{ _id: string }>>()).map((d) => d._id)).toEqual(['finished-lately', 'still-pending']);
    });
  });
});
