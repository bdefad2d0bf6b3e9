import { Router, type Request, type Response } from 'express';
import type { components } from '../../../generated/schema.js';
import { requestFingerprint, type IdempotentAttempt } from '../../domain/idempotency.js';
import type { LicenseLocator } from '../../domain/ports.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { accountOf } from './auth.js';
import { ledgerEventOf, featureConsumptionView, licenseConsumptionView, licenseIdOf, licenseLocatorOf } from './mappers.js';
import { respondSigned } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

type AddConsumptionBody = components['schemas']['V4AddConsumptionRequest'];
type AddFeatureConsumptionBody = components['schemas']['V4AddFeatureConsumptionRequest'];

/** `add_consumption` and `add_feature_consumption`: counted at most once per Idempotency-Key. */
export function consumptionRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'consumption' | 'idempotency' | 'licenseCheck'>): Router {
  const router = Router();

  /** Runs a consumption once per Idempotency-Key (when sent) and answers the (original) response. */
  async function consumeOnce(req: Request, res: Response, operation: string, run: (idempotencyKey: string | undefined, attempt: IdempotentAttempt) => Promise<{ view: unknown; replayed: boolean }>) {
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

  /** The locator to update: pinned to the license's id when the request pins one (checked first). */
  async function targetLicense(accountId: number, locator: LicenseLocator, licenseId: number | undefined): Promise<LicenseLocator> {
    if (licenseId === undefined) return locator;
    const license = await services.licenseCheck.locate(accountId, locator, licenseId);
    return { licenseId: license.id };
  }

  router.post('/add_consumption', async (req, res) => {
    const body = req.body as AddConsumptionBody;
    const accountId = accountOf(res).id;
    const locator = licenseLocatorOf(body);
    await consumeOnce(req, res, 'POST /api/v4/add_consumption', async (idempotencyKey, attempt) => {
      const allowOverages = body.allow_overages === undefined ? undefined : Boolean(body.allow_overages);
      const result = await services.consumption.consume({
        accountId,
        license: await targetLicense(accountId, locator, licenseIdOf(body)),
        target: { scope: 'license' },
        amount: body.consumptions ?? 1,
        seat: { hardwareId: body.hardware_id },
        negatives: 'policy',
        requireConsumptionLicense: true,
        overageCap: {
          ...(allowOverages === false ? { allowOverages: false } : {}),
          ...(body.max_overages !== undefined && body.max_overages > 0 ? { maxOverages: body.max_overages } : {}),
        },
        event: ledgerEventOf(body.event),
        requestId: res.locals.requestId as string | undefined,
        idempotencyKey,
        idempotencyResumedSince: attempt.resumedSince,
        writeDeadline: attempt.writeDeadline,
      });
      return { view: licenseConsumptionView(result.license.id, result.meter), replayed: result.replayed };
    });
  });

  router.post('/add_feature_consumption', async (req, res) => {
    const body = req.body as AddFeatureConsumptionBody;
    const accountId = accountOf(res).id;
    const locator = licenseLocatorOf(body);
    await consumeOnce(req, res, 'POST /api/v4/add_feature_consumption', async (idempotencyKey, attempt) => {
      const result = await services.consumption.consumeFeature({
        accountId,
        license: locator,
        licenseId: licenseIdOf(body),
        feature: body.feature,
        amount: body.consumptions ?? 1,
        seat: { hardwareId: body.hardware_id },
        negatives: 'policy',
        event: ledgerEventOf(body.event),
        requestId: res.locals.requestId as string | undefined,
        idempotencyKey,
        idempotencyResumedSince: attempt.resumedSince,
        writeDeadline: attempt.writeDeadline,
      });
      const updated = result.license.features.find((f) => f.code === body.feature)!;
      return { view: featureConsumptionView(result.license, updated), replayed: result.replayed };
    });
  });

  return router;
}
