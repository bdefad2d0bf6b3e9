/**
 * Runs the embedded engine as a standalone process (`npm run db`), like a local mongod.
 *
 *   npm run db -- [--port 27017] [--host 127.0.0.1] [--dbpath ./data/db] [--in-memory]
 *   npm run db -- --repair [--dbpath ./data/db]
 *
 * Environment: EMBEDDED_MONGO_PORT, EMBEDDED_MONGO_HOST, EMBEDDED_MONGO_DBPATH.
 * Prints `embedded-mongo listening on <uri>` once ready; SIGTERM/SIGINT flush the journal and exit.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CorruptDataError, formatRepairReport, repairDataDir, startEmbeddedMongo } from './index.js';

function usage(): string {
  return [
    'Usage: npm run db -- [options]',
    '  --port <n>        TCP port (default 27017, env EMBEDDED_MONGO_PORT; 0 = any free port)',
    '  --host <addr>     interface to bind (default 127.0.0.1, env EMBEDDED_MONGO_HOST)',
    '  --dbpath <dir>    data directory (default ./data/db, env EMBEDDED_MONGO_DBPATH)',
    '  --in-memory       keep everything in memory (nothing is written to disk)',
    '  --quiet           only print the listening line and errors',
    '  --repair          salvage a damaged data directory and exit: reads what can be read of the',
    '                    snapshot and journals (skipping damaged ranges, whose records are lost),',
    '                    moves the original files to <dbpath>/damaged-<timestamp>/, writes the',
    '                    salvaged state as a new generation and prints what was dropped',
    '',
    'Start-up refuses a data directory with a damaged file (anything but a torn tail: the error names',
    'the file and byte offset) and changes nothing in it; run --repair to salvage it. While the journal',
    'cannot be written (full disk, I/O error) every write is refused (code 14031 OutOfDiskSpace or 1),',
    'reads keep working, and writes are accepted again as soon as the journal can be written.',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      dbpath: { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage());
    return;
  }
  const port = Number(values.port ?? process.env.EMBEDDED_MONGO_PORT ?? 27017);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${values.port ?? ''}`);
  const host = values.host ?? process.env.EMBEDDED_MONGO_HOST ?? '127.0.0.1';
  const dataDir = values['in-memory']
    ? undefined
    : path.resolve(values.dbpath ?? values['data-dir'] ?? process.env.EMBEDDED_MONGO_DBPATH ?? './data/db');
  const quiet = values.quiet;
  const logger = {
    info: (m: string) => (quiet ? undefined : console.log(m)),
    warn: (m: string) => console.warn(m),
    error: (m: string) => console.error(m),
  };

  if (values.repair) {
    if (!dataDir) throw new Error('--repair needs a data directory (--dbpath), not --in-memory');
    const report = await repairDataDir(dataDir);
    console.log(formatRepairReport(report));
    return;
  }

  let engine;
  try {
    engine = await startEmbeddedMongo({ port, host, dataDir, logger });
  } catch (err) {
    if (err instanceof CorruptDataError) {
      console.error(`embedded-mongo: ${err.message}`);
      console.error(
        `embedded-mongo: nothing was changed in ${dataDir ?? ''}. To salvage what can be read (the damaged records are lost; ` +
          `the original files are kept in damaged-<timestamp>/), run: npm run db -- --repair --dbpath ${dataDir ?? ''}`,
      );
      process.exit(2);
    }
    throw err;
  }
  console.log(`embedded-mongo listening on ${engine.uri}${dataDir ? ` (data: ${dataDir})` : ' (in memory)'}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`embedded-mongo: ${signal} received, flushing and stopping`);
    engine.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`embedded-mongo: ${(err as Error).message}`);
  console.error(usage());
  process.exit(1);
});
