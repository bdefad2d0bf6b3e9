/** Shared per-file setup: one test database and one driver client. */
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../database.js';

export interface Harness {
  tdb: TestDatabase;
  client: MongoClient;
  db: Db;
}

export function useDatabase(): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    h.tdb = await startTestDatabase();
    h.client = new MongoClient(h.tdb.uri);
    await h.client.connect();
    h.db = h.client.db(h.tdb.dbName);
  });
  afterAll(async () => {
    await h.client?.close();
    await h.tdb?.stop();
  });
  return h;
}
