/**
 * TCP server: one connection = one framer + a serial queue of requests. Each command is run
 * synchronously against the in-memory state; only the reply may wait (for the journal to reach
 * disk when the write concern asks for `j: true`).
 */
import net from 'node:net';
import { runCommand, commandName } from './commands/index.js';
import type { CommandContext, ServerInfo } from './commands/context.js';
import type { CursorRegistry } from './cursors.js';
import { ErrorCodes, MongoCommandError, errorReply } from './errors.js';
import type { Catalog } from './storage/catalog.js';
import { isPlainObject, type Doc } from './values.js';
import { MessageFramer, OP_MSG, OP_QUERY, encodeOpMsg, encodeOpReply, parseMessage } from './wire/protocol.js';

export interface Logger {
  info?: (msg: string) => void;
  warn?: (msg: string) => void;
  error?: (msg: string) => void;
  debug?: (msg: string) => void;
}

export interface Durability {
  /**
   * Resolves once every change made so far is on disk (fsync); rejects with a MongoCommandError
   * when it never will be (the change was rolled back).
   */
  sync(): Promise<void>;
  /** While the journal cannot be written: the error every write command is answered with. */
  writeRefusal(): MongoCommandError | undefined;
  /** For `serverStatus.durability`. */
  status(): Doc;
}

export interface WireServerOptions {
  catalog: Catalog;
  cursors: CursorRegistry;
  durability?: Durability | undefined;
  logger?: Logger | undefined;
  persistent: boolean;
}

const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findandmodify', 'create', 'drop', 'dropdatabase', 'createindexes', 'dropindexes', 'renamecollection', 'aggregate']);

/** Whether a command changes data (an aggregate only with `$out`/`$merge`). */
function isWrite(name: string, cmd: Doc): boolean {
  if (name === 'fsync') return true;
  if (!WRITE_COMMANDS.has(name)) return false;
  if (name !== 'aggregate') return true;
  const pipeline = cmd.pipeline;
  if (!Array.isArray(pipeline)) return false;
  const last: unknown = pipeline[pipeline.length - 1];
  return isPlainObject(last) && ('$out' in last || '$merge' in last);
}

function wantsJournal(cmd: Doc): boolean {
  const wc = cmd.writeConcern;
  if (!isPlainObject(wc)) return false;
  return wc.j === true || wc.fsync === true || wc.w === 'majority';
}

export class WireServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private nextConnectionId = 1;
  private readonly startedAt = new Date();
  private address: { host: string; port: number } = { host: '127.0.0.1', port: 0 };

  constructor(private readonly options: WireServerOptions) {
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address() as net.AddressInfo;
        this.address = { host, port: addr.port };
        resolve(this.address);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onConnection(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const connectionId = this.nextConnectionId++;
    const info: ServerInfo = {
      connectionId,
      startedAt: this.startedAt,
      persistent: this.options.persistent,
      host: this.address.host,
      port: this.address.port,
      durability: () => this.options.durability?.status() ?? { writable: true, failures: 0 },
    };
    const framer = new MessageFramer();
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = framer.push(chunk);
      } catch (err) {
        this.options.logger?.warn?.(`embedded-mongo: closing connection ${connectionId}: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const msg of messages) {
        queue = queue.then(() => this.handle(socket, msg, info)).catch((err: unknown) => {
          this.options.logger?.error?.(`embedded-mongo: connection ${connectionId}: ${(err as Error).stack ?? String(err)}`);
          socket.destroy();
        });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async handle(socket: net.Socket, msg: Buffer, info: ServerInfo): Promise<void> {
    let parsed;
    try {
      parsed = parseMessage(msg);
    } catch (err) {
      const requestID = msg.readInt32LE(4);
      const opCode = msg.readInt32LE(12);
      const reply = errorReply(new MongoCommandError(ErrorCodes.FailedToParse, `invalid message: ${(err as Error).message}`));
      if (opCode === OP_MSG) socket.write(encodeOpMsg(requestID, reply));
      else if (opCode === OP_QUERY) socket.write(encodeOpReply(requestID, reply));
      else socket.destroy();
      return;
    }
    const ctx: CommandContext = {
      catalog: this.options.catalog,
      cursors: this.options.cursors,
      db: parsed.db,
      server: info,
    };
    const name = commandName(parsed.command).toLowerCase();
    const durability = this.options.durability;
    const write = durability !== undefined && isWrite(name, parsed.command);
    // While the journal cannot be written every write is refused up front, without touching state.
    const refusal = write ? durability.writeRefusal() : undefined;
    let reply = refusal ? errorReply(refusal) : runCommand(parsed.command, ctx);
    if (write && !refusal && (name === 'fsync' || wantsJournal(parsed.command))) {
      try {
        await durability.sync();
      } catch (err) {
        // The change was rolled back: a command error, never an acknowledgement.
        reply = errorReply(err instanceof MongoCommandError ? err : new MongoCommandError(ErrorCodes.InternalError, `journal write failed: ${(err as Error).message}`));
      }
    }
    if (parsed.moreToCome) return;
    if (socket.destroyed) return;
    socket.write(this.encode(parsed.opCode, parsed.requestID, reply));
  }

  private encode(opCode: number, requestID: number, reply: Doc): Buffer {
    const encode = opCode === OP_QUERY ? encodeOpReply : encodeOpMsg;
    try {
      return encode(requestID, reply);
    } catch (err) {
      const message = `could not encode the reply: ${(err as Error).message}`;
      return encode(requestID, errorReply(new MongoCommandError(ErrorCodes.BSONObjectTooLarge, message)));
    }
  }
}
