/** Command dispatch: looks up the handler by command name and turns failures into error replies. */
import { ErrorCodes, MongoCommandError, errorReply, toCommandError } from '../errors.js';
import type { Doc } from '../values.js';
import { adminCommands } from './admin.js';
import { aggregateCommands } from './aggregate.js';
import type { CommandContext, CommandHandler } from './context.js';
import { ddlCommands } from './ddl.js';
import { checkCommandFields } from './fields.js';
import { readCommands } from './read.js';
import { writeCommands } from './write.js';

const HANDLERS: Record<string, CommandHandler> = {
  ...adminCommands,
  ...ddlCommands,
  ...readCommands,
  ...writeCommands,
  ...aggregateCommands,
  fsync: () => ({ numFiles: 1, ok: 1 }),
};

/** Lower-cased aliases so that e.g. `findandmodify` and `ISMASTER` resolve like mongod. */
const BY_LOWER = new Map(Object.entries(HANDLERS).map(([k, v]) => [k.toLowerCase(), v]));

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? '';
}

/** Runs one command synchronously; always returns a reply document (ok: 1 or ok: 0). */
export function runCommand(cmd: Doc, ctx: CommandContext): Doc {
  const name = commandName(cmd);
  const handler = HANDLERS[name] ?? BY_LOWER.get(name.toLowerCase());
  try {
    if (!handler) {
      throw new MongoCommandError(ErrorCodes.CommandNotFound, `no such command: '${name}'`);
    }
    if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) {
      throw new MongoCommandError(
        ErrorCodes.IllegalOperation,
        'Transaction numbers are only allowed on a replica set member or mongos',
      );
    }
    checkCommandFields(cmd);
    return handler(cmd, ctx);
  } catch (err) {
    return errorReply(toCommandError(err));
  }
}
