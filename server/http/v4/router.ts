import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { DomainError } from '../../domain/errors.js';
import { requestFingerprint, type IdempotentAttempt } from '../../domain/idempotency.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { licenseAsOf } from '../../domain/license-check.js';
import type { License } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import { ApiError } from '../api-error.js';
import { toV4ApiError } from './errors.js';
import { identityOf, licenseIdOf, licenseLocatorOf } from './license-locator.js';
import { LicenseTargetCache } from './license-target-cache.js';
import { callerOf, licenseApiAuth } from './auth.js';
import { licenseSignatureInput, sendSigned, signText } from './response-signing.js';
import { featureConsumptionView, ledgerEventOf, licenseConsumptionView, licenseView } from './mappers.js';
import type { DeviceDetails, LicenseLocator } from '../../domain/ports.js';

type Schemas = components['schemas'];
type ActivateBody = Schemas['V4ActivateLicenseRequest'];
type DeactivateBody = Schemas['V4DeactivateLicenseRequest'];
type AddConsumptionBody = Schemas['V4AddConsumptionRequest'];
type AddFeatureConsumptionBody = Schemas['V4AddFeatureConsumptionRequest'];
type CheckQuery = operations['checkLicense']['parameters']['query'];

export interface LicenseApiDeps {
  services: Services;
  logger: Logger;
}

/** The License API v4 (LicenseSpring-style): signed requests, signed responses, vendor error codes. */
export function licenseApiRouter({ services }: LicenseApiDeps): Router {
  const router = Router();
  router.use(licenseApiAuth(services));

  const accountOf = (res: Response) => callerOf(res.locals).account;
  const targets = new LicenseTargetCache();

  /** Sends a body with its LicenseSignature (a stored response re-serialises to the same bytes). */
  async function respond(res: Response, body: unknown, headers: Record<string, string> = {}) {
    const key = await services.accounts.signingKey(accountOf(res).id);
    await sendSigned(res, key.privateKey, body, headers);
  }

  /** Runs a consumption once per Idempotency-Key (when sent) and answers the (original) response. */
  async function consumeOnce(req: Request, res: Response, operation: string, run: (idempotencyKey: string | undefined, attempt: IdempotentAttempt) => Promise<{ view: unknown; replayed: boolean }>) {
    const key = idempotencyKeyOf(req);
    if (key === undefined) {
      await respond(res, (await run(undefined, {})).view);
      return;
    }
    const accountId = accountOf(res).id;
    const outcome = await services.idempotency.run(accountId, key, requestFingerprint(operation, req.body), async (attempt) => {
      const { view, replayed } = await run(key, attempt);
      return { status: 200, body: JSON.stringify(view), replayed };
    });
    await respond(res, JSON.parse(outcome.body), outcome.replayed ? { 'Idempotent-Replayed': 'true' } : {});
  }

  /** The locator to update: pinned to the license's id when the request pins one (checked first). */
  async function targetLicense(accountId: number, locator: LicenseLocator, licenseId: number | undefined): Promise<LicenseLocator> {
    if (licenseId === undefined) return locator;
    const license = await services.licenseCheck.locate(accountId, locator, licenseId);
    return { licenseId: license.id };
  }

  async function licenseResponse(res: Response, license: License, ids: { hardwareId: string; deviceId: number; identity: string; username?: string | undefined }) {
    const account = accountOf(res);
    const now = services.clock.now();
    const product = await services.products.findByShortCode(account.id, license.productCode);
    if (!product) throw new DomainError('product_not_found', 'Provided product was not found');
    const key = await services.accounts.signingKey(account.id);
    const body = licenseView({
      license: licenseAsOf(license, now),
      product,
      hardwareId: ids.hardwareId,
      deviceId: ids.deviceId,
      username: ids.username,
      now,
      licenseSignature: await signText(key.privateKey, licenseSignatureInput(ids.hardwareId, ids.identity, license.validUntil)),
    });
    await sendSigned(res, key.privateKey, body);
  }

  router.post('/activate_license', async (req, res) => {
    const body = req.body as ActivateBody;
    if (body.license_key !== undefined && (body.username !== undefined || body.password !== undefined)) {
      throw new ApiError(400, 'validation_failed', 'Send either license_key or username and password, not both');
    }
    const accountId = accountOf(res).id;
    const locator = licenseLocatorOf(body);
    const licenseId = licenseIdOf(body);
    if (licenseId !== undefined) await services.licenseCheck.locate(accountId, locator, licenseId);
    const details: DeviceDetails = {
      ...(body.os !== undefined ? { os: body.os } : {}),
      ...(body.os_ver !== undefined ? { osVersion: body.os_ver } : {}),
      ...((body.hostname ?? body.os_hostname) !== undefined ? { hostname: (body.hostname ?? body.os_hostname)! } : {}),
      ...(body.vm_info !== undefined ? { vmName: body.vm_info } : {}),
      ...(body.ip !== undefined ? { ipAddress: body.ip } : {}),
      ...(body.app_ver !== undefined ? { appVersion: body.app_ver } : {}),
      ...(body.variables !== undefined ? { metadata: Object.entries(body.variables).map(([key, value]) => ({ key, value })) } : {}),
    };
    const result = await services.devices.activate(accountId, { license: locator, password: body.password, hardwareId: body.hardware_id, details });
    await licenseResponse(res, result.license, { hardwareId: body.hardware_id, deviceId: result.device.id, identity: identityOf(body), username: body.username });
  });

  router.post('/deactivate_license', async (req, res) => {
    const body = req.body as DeactivateBody;
    const accountId = accountOf(res).id;
    const license = await services.licenseCheck.locate(accountId, licenseLocatorOf(body), licenseIdOf(body));
    await services.devices.deactivate(accountId, { licenseId: license.id }, body.hardware_id);
    await respond(res, 'license_deactivated');
  });

  router.get('/check_license', async (req, res) => {
    const query = req.query as unknown as CheckQuery;
    const accountId = accountOf(res).id;
    const { license, seat } = await services.licenseCheck.check(accountId, licenseLocatorOf(query), query.hardware_id, licenseIdOf(query));
    await licenseResponse(res, license, { hardwareId: query.hardware_id, deviceId: seat.deviceId, identity: identityOf(query), username: query.username });
  });

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
      });
      return { view: licenseConsumptionView(result.license.id, result.meter), replayed: result.replayed };
    });
  });

  router.post('/add_feature_consumption', async (req, res) => {
    const body = req.body as AddFeatureConsumptionBody;
    const accountId = accountOf(res).id;
    const locator = licenseLocatorOf(body);
    await consumeOnce(req, res, 'POST /api/v4/add_feature_consumption', async (idempotencyKey, attempt) => {
      // A license and feature seen before need no read: the guarded update checks everything that can change.
      const pinnedId = licenseIdOf(body);
      const knownId = targets.consumptionFeatureLicense(accountId, locator, body.feature);
      let licenseId: number;
      if (knownId !== undefined && (pinnedId === undefined || pinnedId === knownId)) {
        licenseId = knownId;
      } else {
        const license = await services.licenseCheck.locate(accountId, locator, pinnedId);
        const feature = license.features.find((f) => f.code === body.feature);
        if (!feature) throw new ApiError(400, 'unsupported_product_feature', `The license has no feature "${body.feature}"`);
        if (feature.featureType !== 'consumption') throw new ApiError(400, 'unsupported_product_feature', `Feature "${body.feature}" is not a consumption feature`);
        targets.remember(accountId, locator, license);
        licenseId = license.id;
      }
      const result = await services.consumption.consume({
        accountId,
        license: { licenseId },
        target: { scope: 'feature', code: body.feature },
        amount: body.consumptions ?? 1,
        seat: { hardwareId: body.hardware_id },
        negatives: 'policy',
        event: ledgerEventOf(body.event),
        requestId: res.locals.requestId as string | undefined,
        idempotencyKey,
        idempotencyResumedSince: attempt.resumedSince,
      });
      const updated = result.license.features.find((f) => f.code === body.feature)!;
      return { view: featureConsumptionView(updated), replayed: result.replayed };
    });
  });

  const translateDomainErrors: ErrorRequestHandler = (err, _req, _res, next) => {
    next(err instanceof DomainError ? toV4ApiError(err) : err);
  };
  router.use(translateDomainErrors);
  return router;
}
