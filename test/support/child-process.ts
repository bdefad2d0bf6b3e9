import type { ChildProcess } from 'node:child_process';

/** Kills a child process with SIGKILL (a crash, no cleanup) and resolves once it has exited. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
