/**
 * Giving memory back after bulk work. The documents live in slab buffers outside the JS heap (see
 * `docstore.ts`), but a bulk load, a snapshot load or a compaction leaves garbage behind: decoded
 * wire documents, the file read at start-up, the snapshot's buffers. V8 collects it only when the
 * heap grows further, so an engine that goes quiet after loading a million documents would keep
 * hundreds of MB it no longer uses. `noteChurn` counts the bytes such work allocated; once a
 * quiet second follows at least `CHURN_BYTES` of it, the idle monitor runs one full collection.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const CHURN_BYTES = 32 * 1024 * 1024;
const RELEASED_BYTES = 4 * 1024 * 1024;

let churn = 0;
let gc: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (gc === undefined) {
    try {
      const exposed = (globalThis as { gc?: () => void }).gc;
      if (exposed) gc = exposed;
      else {
        v8.setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as () => void;
      }
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Counts bytes of (mostly short-lived) allocations made by writes, loads and compactions. */
export function noteChurn(bytes: number): void {
  churn += bytes;
}

/** Large buffers (≥ 4 MB in all) just let go: their memory comes back at the next full collection, so one is due once the engine is quiet. */
export function noteReleased(bytes: number): void {
  churn += bytes;
  if (bytes >= RELEASED_BYTES) churn = Math.max(churn, CHURN_BYTES);
}

/** Runs a full collection when at least CHURN_BYTES were churned and nothing was added since `seen`; returns the churn now. */
export function collectIfQuiet(seen: number): number {
  if (churn >= CHURN_BYTES && churn === seen) {
    churn = 0;
    collector()?.();
  }
  return churn;
}

/** Every second: a full collection after bulk work once the engine is quiet. */
export function startIdleCollector(): () => void {
  let seen = -1;
  const timer = setInterval(() => (seen = collectIfQuiet(seen)), 1_000);
  timer.unref();
  return () => clearInterval(timer);
}
