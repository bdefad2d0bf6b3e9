/**
 * The real server in a child process for the fault tests (`node --import tsx` this file). Configured
 * by the environment like `npm start` (MONGODB_URI, MONGODB_DB_NAME, BOOTSTRAP_*, ...), on a free
 * loopback port, silent. Prints `{"url": ...}` once it listens.
 */
import { loadConfig } from '../../../server/config.js';
import { createLogger } from '../../../server/logger.js';
import { startServer } from '../../../server/server.js';

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
const server = await startServer({ config, logger: createLogger('silent'), print: () => undefined });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
