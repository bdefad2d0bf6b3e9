import fc from 'fast-check';
import { MongoClient, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromLicense } from '../../server/db/license-document.js';
import type { MeterState } from '../../server/domain/meter.js';
import { meterChangeFilter, meterChangeUpdate, meterRefusal } from '../../server/domain/license-rules.js';
import type { LicenseFeature } from '../../server/domain/types.js';
import { startTestDatabase, type TestDatabase } from '../../server/db/embedded/test/database.js';
import { changeArb, licenseArb, meterChangeOf } from './license-arbitraries.js';
import { crossedThresholds } from '../../server/domain/consumption-alerts.js';

/**
 * The counter rules exist twice by necessity: as a MongoDB filter that the database evaluates in the
 * same atomic write as the `$inc` (meterChangeFilter), and in TypeScript to tell the client why a change
 * was refused (meterRefusal). This generates licenses and changes at random and checks, on the database
 * itself, that the guarded update applies a change exactly when the TypeScript rules say it may, and
 * then moves the counter by exactly the amount and alerts exactly the thresholds it reached.
 */
describe('counter rules: the guarded update and the TypeScript rules agree', () => {
  let db: TestDatabase;
  let client: MongoClient;
  let licenses: Collection;
  let nextId = 1;

  beforeAll(async () => {
    db = await startTestDatabase();
    client = new MongoClient(db.uri);
    await client.connect();
    licenses = client.db(db.dbName).collection('licenses');
  });
  afterAll(async () => {
    await client?.close();
    await db?.stop();
  });

  it('accepts a change exactly when meterRefusal finds no rule broken, and then moves the counter by the amount', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(licenseArb, changeArb, async ({ license: generated }, c) => {
        const license = { ...generated, id: nextId++ };
        await licenses.insertOne(fromLicense(license) as never);
        const change = meterChangeOf(license, c);
        const refusal = meterRefusal(license, change);
        const { update, arrayFilters } = meterChangeUpdate(change);
        const after = await licenses.findOneAndUpdate(meterChangeFilter(change) as never, update as never, { returnDocument: 'after', ...(arrayFilters ? { arrayFilters } : {}) });
        expect({ applied: after !== null, refusal }).toEqual({ applied: refusal === null, refusal });
        if (after) {
          accepted += 1;
          const meterBefore = c.target.scope === 'license' ? license.consumption : license.features.find((f) => f.code === (c.target as { code: string }).code)!;
          const meterAfter = c.target.scope === 'license' ? (after.consumption as MeterState) : (after.features as LicenseFeature[]).find((f) => f.code === (c.target as { code: string }).code)!;
          expect(meterAfter.total).toBe(meterBefore.total + c.amount);
          // The alert thresholds it reached (exactly those it expected) are alerted for the rest of the period.
          expect(meterAfter.alerted).toEqual([...meterBefore.alerted, ...crossedThresholds(meterBefore, c.amount)]);
          expect(crossedThresholds(meterBefore, c.amount)).toEqual(c.amount > 0 ? (c.thresholds?.crossed ?? []) : []);
        }
      }),
      { numRuns: 1500 },
    );
    // The generators reach both sides of the rules.
    expect(accepted).toBeGreaterThan(5);
  });
});
