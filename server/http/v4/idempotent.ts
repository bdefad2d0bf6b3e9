import type { Request, Response } from 'express';
import { requestFingerprint, type IdempotentAttempt } from '../../domain/idempotency.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { accountOf } from './auth.js';
import { respondSigned } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

/** What an operation run under respondOnce answers: its wire view, and whether an earlier attempt under the key had made its change. */
export type OnceRun = (idempotencyKey: string | undefined, attempt: IdempotentAttempt) => Promise<{ view: unknown; replayed: boolean }>;

/**
 * Runs a License API change once per Idempotency-Key (when sent; see IdempotencyService) and answers
 * the (original) response, signed, with `Idempotent-Replayed: true` when it is a replay.
 */
export async function respondOnce(services: Pick<LicenseApiDeps, 'accounts' | 'idempotency'>, req: Request, res: Response, operation: string, run: OnceRun): Promise<void> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) {
    await respondSigned(services.accounts, res, (await run(undefined, {})).view);
    return;
  }
  const outcome = await services.idempotency.run(accountOf(res).id, key, requestFingerprint(operation, req.body), async (attempt) => {
    const { view, replayed } = await run(key, attempt);
    return { status: 200, body: JSON.stringify(view), replayed };
  });
  await respondSigned(services.accounts, res, JSON.parse(outcome.body), outcome.replayed ? { 'Idempotent-Replayed': 'true' } : {});
}
