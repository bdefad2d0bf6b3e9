import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/**
 * Cluster mode (`WEB_CONCURRENCY=N`): this primary process forks N workers that each run the whole
 * server (`startServer`) and share one listening port (node:cluster hands connections round-robin).
 * Workers are stateless apart from short-lived caches, so they need one shared database:
 * MONGODB_URI (a real replica set, or the embedded engine run as its own process with `npm run db`).
 *
 * Workers start one after another (each after the previous one listens), so start-up work such as
 * the bootstrap account is never raced. A worker that dies is replaced, except one that exits with
 * code 2 before it listens (a configuration error, or a secrets key that does not open the database):
 * then the cluster stops and the primary exits with code 2. SIGTERM/SIGINT stop all workers
 * gracefully, then the primary exits.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  let stopping = false;
  const workers = new Set<Worker>();

  const fork = () =>
    new Promise<void>((resolve) => {
      const worker = cluster.fork();
      workers.add(worker);
      let listened = false;
      worker.once('listening', () => {
        listened = true;
        resolve();
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        resolve();
        if (stopping) return;
        if (!listened && code === 2) {
          // A configuration error (or a secrets key that does not open the database) does not go away
          // by starting the worker again: the cluster stops with the worker's exit code.
          logger.fatal({ pid: worker.process.pid, code }, 'worker refused to start; stopping the cluster');
          stop(undefined, 2);
          return;
        }
        logger.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
        setTimeout(() => void fork(), 1_000).unref();
      });
    });

  for (let i = 0; i < config.webConcurrency && !stopping; i += 1) await fork();
  if (stopping) return;
  logger.info({ workers: config.webConcurrency, port: config.port }, 'cluster listening');

  /** Stops every worker, then exits with `exitCode` (on a signal, or when a worker refused to start). */
  function stop(signal: NodeJS.Signals | undefined, exitCode = 0) {
    if (stopping) return;
    stopping = true;
    logger.info(signal ? { signal } : { exitCode }, 'cluster shutting down');
    if (workers.size === 0) process.exit(exitCode);
    for (const worker of workers) {
      worker.once('exit', () => {
        if (workers.size === 0) process.exit(exitCode);
      });
      worker.process.kill('SIGTERM');
    }
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
