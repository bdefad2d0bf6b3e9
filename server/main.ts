import cluster from 'node:cluster';
import { runPrimary } from './cluster.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { PortUnavailableError, startServer } from './server.js';

/**
 * `npm start`: serve until SIGTERM or SIGINT, then shut down gracefully. With WEB_CONCURRENCY=N this
 * process becomes a cluster primary and each of its N workers runs this same function as a server.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (cluster.isPrimary) for (const warning of config.warnings) logger.warn(warning);
  if (config.webConcurrency > 0 && cluster.isPrimary) {
    await runPrimary(config, logger);
    return;
  }
  let server;
  try {
    server = await startServer({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof PortUnavailableError) {
      process.stderr.write(`Cannot start: ${err.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err: { message: (err as Error).message } }, 'start-up failed');
    process.exit(1);
  }
  logger.info({ url: server.url }, 'listening');
  const running = server;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err: { message: (err as Error).message } }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
