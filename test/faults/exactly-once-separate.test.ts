/**
 * Exactly-once counting under SIGKILL, deployment `separate`: the engine as its own process, the server on MONGODB_URI (a real MongoDB when the test process has MONGODB_URI).
 * The scenario, the workloads and the invariants are in scenario.ts.
 */
import { describeExactlyOnce } from './scenario.js';

describeExactlyOnce('separate');
