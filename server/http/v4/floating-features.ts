import { Router } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { meterAsOf } from '../../domain/license-check.js';
import { accountOf } from './auth.js';
import { borrowedUntilOf, licenseFeatureView, licenseIdOf, licenseLocatorOf } from './mappers.js';
import { respondSigned } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

type Schemas = components['schemas'];
type CheckQuery = operations['checkLicenseFeature']['parameters']['query'];

/** `check_license_feature`, `floating/feature_release`, `floating/feature_borrow`: a device's slots of floating license features. */
export function floatingFeatureRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'featureSlots' | 'clock'>): Router {
  const router = Router();

  router.get('/check_license_feature', async (req, res) => {
    const query = req.query as unknown as CheckQuery;
    const { license, feature, inUse } = await services.featureSlots.check(accountOf(res).id, licenseLocatorOf(query), query.hardware_id, query.feature, licenseIdOf(query));
    const answer: Schemas['V4LicenseFeatureCheck'] = { license_id: license.id, ...licenseFeatureView(meterAsOf(feature, services.clock.now())), ...(inUse !== null ? { floating_in_use_devices: inUse } : {}) };
    await respondSigned(services.accounts, res, answer);
  });

  router.post('/floating/feature_release', async (req, res) => {
    const body = req.body as Schemas['V4ReleaseFloatingFeatureRequest'];
    await services.featureSlots.release(accountOf(res).id, licenseLocatorOf(body), body.hardware_id, body.feature, licenseIdOf(body));
    const answer: Schemas['V4FloatingReleaseResult'] = '';
    await respondSigned(services.accounts, res, answer);
  });

  router.post('/floating/feature_borrow', async (req, res) => {
    const body = req.body as Schemas['V4BorrowFloatingFeatureRequest'];
    const { license, device, slot } = await services.featureSlots.borrow(accountOf(res).id, licenseLocatorOf(body), body.hardware_id, body.feature, borrowedUntilOf(body.borrowed_until), licenseIdOf(body));
    const answer: Schemas['V4FloatingBorrowResult'] = { license_id: license.id, device_id: device.id, borrowed_until: slot.borrowedUntil!.toISOString(), max_borrow_time: license.maxBorrowTime };
    await respondSigned(services.accounts, res, answer);
  });

  return router;
}
