/**
 * Fault injection, "Exactly-once counting under crashes": every consumption answered 200 is counted
 * exactly once, forever; nothing answered with an error is counted; no limit is ever passed; a
 * retry with the same Idempotency-Key counts once and, if the first attempt was applied, answers 200
 * with the original body (`Idempotent-Replayed: true`), never a refusal.
 *
 * Two deployments (the engine inside the server process; the engine as its own process), three
 * workloads at their limits, SIGKILLs of the server, the engine and both mid-load, retries of every
 * key without a definitive answer, then the database read directly. See scenario.ts.
 */
import { describeExactlyOnce } from './scenario.js';

describeExactlyOnce();
