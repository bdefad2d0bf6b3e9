import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../../server/db/embedded/index.js';
import { activationBody, call, claimsOf, fingerprint } from './support.js';
import { crashDatabase, killHard, startServerChild } from '../support/child-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'test/v3/crash-server.ts');

interface Info {
  url: string;
  db: { uri: string; name: string };
  accountId?: number;
  licenseId?: number;
  key?: string;
  productId?: number;
}

const startChild = (env: Record<string, string>) => startServerChild<Info>(script, root, env);

const LIMIT = 3;
const MACHINES = 30;
const CLIENTS = 24;

type Op = 'create' | 'renew' | 'delete';
interface Answer {
  op: Op;
  machine: number;
  status: number;
  code: string | undefined;
  /** The activation id of a 201's token. */
  aid?: string;
}

/** The seat state as stored: the license's count and seat entries, and its devices. */
interface SeatState {
  timesActivated: number;
  seatEpoch: number;
  seatEntries: string[];
  devices: Array<{ hardwareId: string; activationId: string; active: boolean; leaseExpiresAt: Date | null; seatChange: unknown }>;
}

type StoredDevice = SeatState['devices'][number] & { licenseId: number };

async function seatState(db: Db, licenseId: number): Promise<SeatState> {
  const license = await db.collection<{ _id: number; timesActivated: number; seatEpoch?: number; outbox?: Array<{ kind: string; id: string }> }>('licenses').findOne({ _id: licenseId });
  const devices = await db.collection<StoredDevice>('devices').find({ licenseId }).toArray();
  return {
    timesActivated: license!.timesActivated,
    seatEpoch: license!.seatEpoch ?? 0,
    seatEntries: (license!.outbox ?? []).filter((e) => e.kind === 'seat').map((e) => e.id),
    devices: devices.map((d) => ({ hardwareId: d.hardwareId, activationId: d.activationId, active: d.active, leaseExpiresAt: d.leaseExpiresAt ?? null, seatChange: d.seatChange ?? null })),
  };
}

/**
 * The seat state once no seat change is in flight: no device has a `seatChange` and the license no
 * `seat` entry. Read license, devices, license: the devices are taken only when the license did not
 * change around them (a seat change writes the license before its device, and removes its entry after).
 */
async function settledSeatState(db: Db, licenseId: number, timeoutMs: number): Promise<SeatState> {
  const deadline = Date.now() + timeoutMs;
  let last: SeatState | undefined;
  while (Date.now() < deadline) {
    const before = await seatState(db, licenseId);
    const after = await seatState(db, licenseId);
    const same = before.timesActivated === after.timesActivated && before.seatEpoch === after.seatEpoch && after.seatEntries.length === 0 && before.seatEntries.length === 0;
    if (same && before.devices.every((d) => d.seatChange === null)) return before;
    last = before;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`seat changes still in flight after ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

/** The seat state as a crash left it, before any process repairs it: read from the database with no server running. */
async function crashedSeatState(env: Record<string, string>, dbName: string, licenseId: number): Promise<SeatState> {
  const engine = env.DATA_DIR ? await startEmbeddedMongo({ dataDir: env.DATA_DIR }) : undefined;
  const client = new MongoClient(engine?.uri ?? env.MONGODB_URI!);
  try {
    await client.connect();
    return await seatState(client.db(dbName), licenseId);
  } finally {
    await client.close();
    await engine?.stop();
  }
}

const activeOf = (state: SeatState) => state.devices.filter((d) => d.active);
const liveOf = (state: SeatState, now: Date) => activeOf(state).filter((d) => d.leaseExpiresAt === null || d.leaseExpiresAt.getTime() > now.getTime());

/**
 * A kill -9 in the middle of seats that expire and change hands: 24 clients activate 30 machines with
 * 1-second leases on a license of 3 seats (a full license gives an expired seat's place to the next
 * machine in one license write: the old device's release and the new one's take, each with its own
 * seat change), renew and delete their activations, until the server is killed. Restarted, the repair
 * finishes every seat change the crash cut off, and the count, the devices and the limit agree.
 */
describe('Web API v3: crash consistency of expiring seats', () => {
  const { env, token, cleanup } = crashDatabase('v3-lease-crash');
  const children: ChildProcess[] = [];
  let mongo: MongoClient | undefined;

  afterAll(async () => {
    for (const child of children) await killHard(child);
    await mongo?.close();
    await cleanup();
  });

  it('after a SIGKILL amid seat swaps, renewals and deletions, the repair leaves the count equal to the active devices, within the limit', async () => {
    // No repair pass in the first process: expired seats are given back only by takes and by the requests that name them.
    const first = await startChild({ ...env, CRASH_SEED: 'leases', OUTBOX_REPAIR_INTERVAL_MS: '0' });
    children.push(first.child);
    const licenseId = first.info.licenseId!;
    const license = { key: first.info.key!, productId: first.info.productId!, accountId: first.info.accountId! };
    const fps = Array.from({ length: MACHINES }, (_, i) => fingerprint(`lease-crash-${i}`));
    const client = { baseUrl: first.info.url };
    const admin = { baseUrl: first.info.url, token };

    const answers: Answer[] = [];
    const known = new Map<number, string>();
    let mostListed = 0;
    let stop = false;
    const request = async (op: Op, machine: number): Promise<Answer> => {
      const fp = fps[machine]!;
      const aid = known.get(machine);
      if (op === 'create') return answer(op, machine, await call(client, 'POST', '/v3/activations', activationBody(license, fp, { leaseDuration: 1 })));
      // A sync without leaseDuration renews by the last requested one (1 s).
      if (op === 'renew') return answer(op, machine, await call(client, 'PATCH', `/v3/activations/${aid}`, activationBody(license, fp)));
      return answer(op, machine, await call(client, 'DELETE', `/v3/activations/${aid}`));
    };
    const answer = (op: Op, machine: number, res: { status: number; body: { code?: string; activationToken?: string } | null }): Answer => {
      const a: Answer = { op, machine, status: res.status, code: res.body?.code };
      if (res.status === 201) {
        a.aid = claimsOf(res.body!.activationToken!).aid as string;
        known.set(machine, a.aid);
      }
      return a;
    };
    const workers = Array.from({ length: CLIENTS }, async () => {
      while (!stop) {
        const machine = Math.floor(Math.random() * MACHINES);
        const r = Math.random();
        const op: Op = !known.has(machine) || r < 0.5 ? 'create' : r < 0.85 ? 'renew' : 'delete';
        try {
          answers.push(await request(op, machine));
        } catch {
          return; // the server is gone
        }
      }
    });
    // Live activations as the server lists them, all along: never more than the limit.
    const lister = (async () => {
      while (!stop) {
        try {
          const listed = await call(admin, 'GET', `/v3/activations?licenseId=${licenseId}&limit=100`);
          if (listed.status === 200) mostListed = Math.max(mostListed, (listed.body as unknown[]).length);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // Long enough for leases to end and seats to change hands several times; then the kill, while a
    // device is giving its seat back (a swap's expired seat, a deletion, a reclaim): its release is in flight.
    const watcher = new MongoClient(first.info.db.uri);
    await watcher.connect();
    const devices = watcher.db(first.info.db.name).collection<StoredDevice>('devices');
    const started = Date.now();
    const handedOver = () => new Set(answers.filter((a) => a.status === 201).map((a) => a.machine)).size;
    const tooSlow = () => {
      if (Date.now() - started > 20_000) throw new Error(`stream too slow: ${answers.length} answers, ${handedOver()} machines got a seat`);
    };
    while (answers.length < 150 || Date.now() - started < 2_500 || handedOver() < 2 * LIMIT) {
      tooSlow();
      await new Promise((r) => setTimeout(r, 5));
    }
    while (!(await devices.findOne({ licenseId, 'seatChange.op': 'release' }))) tooSlow();
    await killHard(first.child);
    const killedAt = Date.now();
    stop = true;
    await Promise.all([...workers, lister]);
    await watcher.close();

    // Every answer is one of these. 409 CONFLICT: a request that lost the race for the license more
    // often than the retries allow (rare under this load; not in the spec of these operations).
    const allowed: Record<Op, string[]> = {
      create: ['201', '400 ACTIVATION_LIMIT_REACHED', '409 CONFLICT'],
      renew: ['200', '404 NOT_FOUND', '409 CONFLICT'],
      delete: ['204', '404 NOT_FOUND', '409 CONFLICT'],
    };
    for (const a of answers) expect(allowed[a.op]).toContain(a.code ? `${a.status} ${a.code}` : String(a.status));
    expect(mostListed).toBeLessThanOrEqual(LIMIT);

    // The kill cut seat changes off (devices left with a take or a release begun, its license write
    // made or not); what the crash left never had more live seats than the limit when it died.
    const crashed = await crashedSeatState(env, first.info.db.name, licenseId);
    expect(crashed.devices.filter((d) => d.seatChange !== null).length).toBeGreaterThan(0);
    expect(liveOf(crashed, new Date(killedAt)).length).toBeLessThanOrEqual(LIMIT);

    const second = await startChild({ ...env, OUTBOX_REPAIR_INTERVAL_MS: '200', OUTBOX_REPAIR_AFTER_MS: '500' });
    children.push(second.child);
    mongo = new MongoClient(second.info.db.uri);
    await mongo.connect();
    const db = mongo.db(second.info.db.name);

    // A seat change's deadline is 5 s after it began, and it is taken as left behind 1 s after that.
    const repaired = await settledSeatState(db, licenseId, 15_000);
    expect(repaired.timesActivated).toBe(activeOf(repaired).length);
    expect(repaired.timesActivated).toBeLessThanOrEqual(LIMIT);
    expect(liveOf(repaired, new Date()).length).toBeLessThanOrEqual(LIMIT);
    // Every activation asked for a 1-second lease: no seat, repaired or not, is held without an end.
    expect(activeOf(repaired).filter((d) => d.leaseExpiresAt === null)).toEqual([]);
    // Each activation answered 201 was stored: its machine's device has the activation id of the token.
    const byFp = new Map(repaired.devices.map((d) => [d.hardwareId, d]));
    for (const a of answers.filter((x) => x.status === 201)) expect(byFp.get(fps[a.machine]!)?.activationId).toBe(a.aid);

    // Once every lease has ended (a repaired take's runs from its repair), three new machines take the three seats, and a fourth finds none.
    const lastEnd = Math.max(killedAt, ...activeOf(repaired).map((d) => d.leaseExpiresAt!.getTime()));
    await new Promise((r) => setTimeout(r, Math.max(0, lastEnd + 100 - Date.now())));
    const fresh = Array.from({ length: LIMIT + 1 }, (_, i) => fingerprint(`lease-crash-new-${i}`));
    const after = { baseUrl: second.info.url };
    for (const fp of fresh.slice(0, LIMIT)) expect((await call(after, 'POST', '/v3/activations', activationBody(license, fp))).status).toBe(201);
    expect(await call(after, 'POST', '/v3/activations', activationBody(license, fresh[LIMIT]!))).toMatchObject({ status: 400, body: { code: 'ACTIVATION_LIMIT_REACHED' } });
    const final = await settledSeatState(db, licenseId, 15_000);
    expect(final.timesActivated).toBe(LIMIT);
    expect(activeOf(final).map((d) => d.hardwareId).sort()).toEqual(fresh.slice(0, LIMIT).sort());
    expect(liveOf(final, new Date())).toHaveLength(LIMIT);
    await killHard(second.child);
  }, 60_000);
});
