/**
 * Exactly-once counting under SIGKILL, deployment `in-process`: the embedded engine inside the server process (DATA_DIR, as `npm start` runs).
 * The scenario, the workloads and the invariants are in scenario.ts.
 */
import { describeExactlyOnce } from './scenario.js';

describeExactlyOnce('in-process');
