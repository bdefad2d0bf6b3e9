import { calculateObjectSize } from 'bson';
import type { CommandStartedEvent, CommandSucceededEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSeats } from '../support/seats.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { clientFor, licenseFor } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';
import { featureCodes, licenseWithFeatures } from './support.js';

interface Traffic {
  /** BSON bytes of every command the server sent and every reply it received, summed. */
  bytes: number;
  /** Each command in order: name, collection, bytes sent, bytes received. */
  commands: Array<{ name: string; collection: string; sent: number; received: number }>;
}

const PLAIN_LIMIT_BYTES = 8 * 1024;

/**
 * What one `add_feature_consumption` exchanges with the database, counted with the driver's command
 * monitoring on the server's own client: it must not grow with the license's seats or features.
 * The webhook dispatcher, the outbox repair job and the reconnection watchdog are off, so every
 * command in the window belongs to the request.
 */
describe('the database traffic of one add_feature_consumption', () => {
  let t: TestServer;
  let client: V4Client;
  const traffic: Record<'plain' | 'seats' | 'features', Traffic> = {} as never;

  /** The commands and replies exchanged while one consumption of `feature` is answered (after a first one filled the caches). */
  async function trafficOf(ids: { product: string; license_key: string; hardware_id: string }, feature: string): Promise<Traffic> {
    expect((await client.post('add_feature_consumption', { ...ids, feature })).status).toBe(200);
    const mongo = t.server.db.connection.getClient();
    const started = new Map<number, { name: string; collection: string; sent: number }>();
    const commands: Traffic['commands'] = [];
    const onStarted = (e: CommandStartedEvent) => {
      const collection = e.command[e.commandName];
      started.set(e.requestId, { name: e.commandName, collection: typeof collection === 'string' ? collection : '', sent: calculateObjectSize(e.command) });
    };
    const onSucceeded = (e: CommandSucceededEvent) => {
      const command = started.get(e.requestId)!;
      commands.push({ ...command, received: calculateObjectSize(e.reply as object) });
    };
    mongo.on('commandStarted', onStarted);
    mongo.on('commandSucceeded', onSucceeded);
    try {
      const res = await client.post('add_feature_consumption', { ...ids, feature });
      expect(res.status).toBe(200);
      expect(res.body.total_consumptions).toBe(2);
    } finally {
      mongo.off('commandStarted', onStarted);
      mongo.off('commandSucceeded', onSucceeded);
    }
    expect(commands).toHaveLength(started.size);
    return { bytes: commands.reduce((sum, c) => sum + c.sent + c.received, 0), commands };
  }

  beforeAll(async () => {
    t = await startTestServer({ monitorCommands: true, env: { WEBHOOKS_DISPATCHER: 'false', OUTBOX_REPAIR_INTERVAL_MS: '0', DB_RECONNECT_WATCHDOG_MS: '0' } });
    client = await clientFor(t);

    const plain = await licenseFor(t, { features: [{ code: 'api-calls', max: 1_000 }] }, ['hw-1']);
    traffic.plain = await trafficOf(plain.ids, 'api-calls');

    const site = await licenseFor(t, { maxActivations: 5_000, features: [{ code: 'api-calls', max: 1_000 }] }, []);
    const [seat] = await seedSeats(t.server.db, site.license, 5_000);
    traffic.seats = await trafficOf({ ...site.ids, hardware_id: seat!.hardwareId }, 'api-calls');

    const codes = featureCodes(200);
    const many = await licenseWithFeatures(t, codes);
    traffic.features = await trafficOf(many.ids, codes[136]!);

    for (const [name, { bytes, commands }] of Object.entries(traffic)) {
      console.log(`${name}: ${bytes} bytes in ${commands.length} commands: ${commands.map((c) => `${c.name} ${c.collection} ${c.sent}+${c.received}`).join(', ')}`);
    }
  }, 120_000);
  afterAll(async () => t?.stop());

  it(`a plain license (1 seat, 1 feature) exchanges less than ${PLAIN_LIMIT_BYTES} bytes`, () => {
    expect(traffic.plain.bytes).toBeLessThan(PLAIN_LIMIT_BYTES);
  });

  // Seats are device documents, and the guarded update returns only the feature it changed: neither
  // grows what a consumption exchanges with the database.
  it('a license with 5,000 seats exchanges at most twice the bytes of the plain one', () => {
    expect(traffic.seats.bytes).toBeLessThanOrEqual(2 * traffic.plain.bytes);
  });

  it('a license with 200 features exchanges at most twice the bytes of the plain one', () => {
    expect(traffic.features.bytes).toBeLessThanOrEqual(2 * traffic.plain.bytes);
  });
});
