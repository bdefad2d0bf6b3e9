/**
 * Raw wire-protocol tests over a plain TCP socket (no driver): OP_QUERY handshake, OP_MSG with
 * document sequences and checksums, fragmented and coalesced frames.
 */
import net from 'node:net';
import { deserialize, serialize, type Document } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../database.js';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opMsg(requestId: number, body: Document, sequences: Array<[string, Document[]]> = [], checksum = false): Buffer {
  const parts: Buffer[] = [];
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(checksum ? 1 : 0, 0);
  parts.push(flags, Buffer.from([0]), Buffer.from(serialize(body)));
  for (const [id, docs] of sequences) {
    const payload = Buffer.concat([Buffer.from(id + '\0', 'utf8'), ...docs.map((d) => Buffer.from(serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const content = Buffer.concat(parts);
  const length = 16 + content.length + (checksum ? 4 : 0);
  const msg = Buffer.concat([header(length, requestId, OP_MSG), content]);
  if (!checksum) return msg;
  const sum = Buffer.alloc(4);
  sum.writeUInt32LE(crc32c(msg), 0);
  return Buffer.concat([msg, sum]);
}

function opQuery(requestId: number, ns: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(0, 0);
  skipReturn.writeInt32LE(-1, 4);
  const content = Buffer.concat([flags, Buffer.from(ns + '\0', 'utf8'), skipReturn, Buffer.from(serialize(query))]);
  return Buffer.concat([header(16 + content.length, requestId, OP_QUERY), content]);
}

interface Reply {
  requestId: number;
  responseTo: number;
  opCode: number;
  doc: Document;
}

class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: Array<(r: Reply) => void> = [];
  private replies: Reply[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 4 && this.buf.length >= this.buf.readInt32LE(0)) {
        const len = this.buf.readInt32LE(0);
        const msg = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        const opCode = msg.readInt32LE(12);
        const docStart = opCode === OP_REPLY ? 36 : 21;
        const reply: Reply = {
          requestId: msg.readInt32LE(4),
          responseTo: msg.readInt32LE(8),
          opCode,
          doc: deserialize(msg.subarray(docStart, docStart + msg.readInt32LE(docStart))),
        };
        const w = this.waiters.shift();
        if (w) w(reply);
        else this.replies.push(reply);
      }
    });
  }

  static open(uri: string): Promise<RawConnection> {
    const url = new URL(uri);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port || 27017), url.hostname.replace(/^\[|\]$/g, ''), () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Raw sockets need a single host without authentication. */
function rawSocketUnsupported(uri: string | undefined): boolean {
  if (!uri) return false;
  return uri.startsWith('mongodb+srv:') || uri.includes('@') || /\/\/[^/]*,/.test(uri);
}

describe.skipIf(rawSocketUnsupported(process.env.MONGODB_URI))('wire protocol', () => {
  let tdb: TestDatabase;
  let conn: RawConnection;

  beforeAll(async () => {
    tdb = await startTestDatabase();
    conn = await RawConnection.open(tdb.uri);
  });

  afterAll(async () => {
    conn?.close();
    await tdb?.stop();
  });

  it('answers a legacy OP_QUERY isMaster with OP_REPLY', async () => {
    conn.socket.write(opQuery(101, 'admin.$cmd', { isMaster: 1, helloOk: true }));
    const reply = await conn.next();
    expect(reply.opCode).toBe(OP_REPLY);
    expect(reply.responseTo).toBe(101);
    expect(reply.doc.ok).toBe(1);
    expect(reply.doc.ismaster).toBe(true);
    expect(reply.doc.maxWireVersion).toBeGreaterThanOrEqual(17);
  });

  it('answers OP_MSG hello with responseTo = requestID', async () => {
    conn.socket.write(opMsg(202, { hello: 1, $db: 'admin' }));
    const reply = await conn.next();
    expect(reply.opCode).toBe(OP_MSG);
    expect(reply.responseTo).toBe(202);
    expect(reply.doc.isWritablePrimary).toBe(true);
  });

  it('accepts kind-1 document sequences and the checksum flag', async () => {
    conn.socket.write(
      opMsg(303, { insert: 'raw', $db: tdb.dbName }, [['documents', [{ _id: 1, a: 1 }, { _id: 2, a: 2 }]]], true),
    );
    const reply = await conn.next();
    expect(reply.responseTo).toBe(303);
    expect(reply.doc).toMatchObject({ ok: 1, n: 2 });
    conn.socket.write(opMsg(304, { find: 'raw', filter: {}, sort: { _id: 1 }, $db: tdb.dbName }));
    const found = await conn.next();
    expect(found.doc.cursor.firstBatch).toEqual([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
    ]);
  });

  it('reassembles a message split across many TCP writes', async () => {
    const msg = opMsg(404, { ping: 1, $db: 'admin' });
    for (let i = 0; i < msg.length; i += 3) {
      conn.socket.write(msg.subarray(i, i + 3));
      await new Promise((r) => setTimeout(r, 1));
    }
    const reply = await conn.next();
    expect(reply.responseTo).toBe(404);
    expect(reply.doc.ok).toBe(1);
  });

  it('handles several messages in one TCP write, answering each in order', async () => {
    conn.socket.write(
      Buffer.concat([
        opMsg(501, { ping: 1, $db: 'admin' }),
        opMsg(502, { count: 'raw', query: {}, $db: tdb.dbName }),
        opMsg(503, { noSuchCommand: 1, $db: 'admin' }),
      ]),
    );
    const replies = [await conn.next(), await conn.next(), await conn.next()];
    expect(replies.map((r) => r.responseTo)).toEqual([501, 502, 503]);
    expect(replies[1]!.doc.n).toBe(2);
    expect(replies[2]!.doc).toMatchObject({ ok: 0, code: 59, codeName: 'CommandNotFound' });
  });
});
