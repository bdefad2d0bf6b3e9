import { Router, type Request, type Response } from 'express';
import type { components } from '../../../generated/schema.js';
import type { LicenseLocator } from '../../domain/ports.js';
import { accountOf } from './auth.js';
import { respondOnce, type OnceRun } from './idempotent.js';
import { ledgerEventOf, featureConsumptionView, licenseConsumptionView, licenseIdOf, licenseLocatorOf } from './mappers.js';
import type { LicenseApiDeps } from './router.js';

type AddConsumptionBody = components['schemas']['V4AddConsumptionRequest'];
type AddFeatureConsumptionBody = components['schemas']['V4AddFeatureConsumptionRequest'];

/** `add_consumption` and `add_feature_consumption`: counted at most once per Idempotency-Key. */
export function consumptionRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'consumption' | 'idempotency' | 'licenseCheck'>): Router {
  const router = Router();

  const consumeOnce = (req: Request, res: Response, operation: string, run: OnceRun) => respondOnce(services, req, res, operation, run);

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
    const event = ledgerEventOf(body.event);
    await consumeOnce(req, res, 'POST /api/v4/add_consumption', async (idempotencyKey, attempt) => {
      const result = await services.consumption.consumeLicense({
        accountId,
        license: await targetLicense(accountId, locator, licenseIdOf(body)),
        amount: body.consumptions ?? 1,
        seat: { hardwareId: body.hardware_id },
        overageCap: {
          ...(body.allow_overages === false ? { allowOverages: false } : {}),
          ...(body.max_overages !== undefined && body.max_overages > 0 ? { maxOverages: body.max_overages } : {}),
        },
        event,
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
    const event = ledgerEventOf(body.event);
    await consumeOnce(req, res, 'POST /api/v4/add_feature_consumption', async (idempotencyKey, attempt) => {
      const result = await services.consumption.consumeFeature({
        accountId,
        license: locator,
        licenseId: licenseIdOf(body),
        feature: body.feature,
        amount: body.consumptions ?? 1,
        seat: { hardwareId: body.hardware_id },
        negatives: 'policy',
        event,
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
