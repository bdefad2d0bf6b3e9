/**
 * Test database helper. Uses the server in MONGODB_URI when set (a fresh database per call,
 * dropped on stop); otherwise starts the embedded engine in memory on a free port.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../index.js';

export interface TestDatabase {
  uri: string;
  dbName: string;
  stop(): Promise<void>;
}

function uniqueDbName(): string {
  return `test_${randomBytes(6).toString('hex')}`;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const dbName = uniqueDbName();
  const external = process.env.MONGODB_URI;
  if (external) {
    return {
      uri: external,
      dbName,
      async stop() {
        const client = new MongoClient(external);
        try {
          await client.connect();
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }
  const engine = await startEmbeddedMongo({ port: 0 });
  return { uri: engine.uri, dbName, stop: () => engine.stop() };
}
