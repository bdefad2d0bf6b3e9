import { Router, type Response } from 'express';
import type { components, operations } from '../../../generated/schema.js';
import { DomainError } from '../../domain/errors.js';
import { licenseAsOf } from '../../domain/license-check.js';
import type { Device, License } from '../../domain/types.js';
import { accountOf } from './auth.js';
import { respondOnce } from './idempotent.js';
import { activationLocatorOf, borrowedUntilOf, deviceDetailsOf, identityOf, licenseIdOf, licenseLocatorOf, licenseView } from './mappers.js';
import { licenseSignatureInput, respondSigned, sendSigned, signLicense } from './response-signing.js';
import type { LicenseApiDeps } from './router.js';

type Schemas = components['schemas'];
type ActivateBody = Schemas['V4ActivateLicenseRequest'];
type DeactivateBody = Schemas['V4DeactivateLicenseRequest'];
type CheckQuery = operations['checkLicense']['parameters']['query'];
type ReleaseBody = Schemas['V4ReleaseFloatingLicenseRequest'];
type BorrowBody = Schemas['V4BorrowFloatingLicenseRequest'];

/** `activate_license`, `deactivate_license`, `check_license`, `floating/release`, `floating/borrow`: a license as one device holds it. */
export function licenseRoutes(services: Pick<LicenseApiDeps, 'accounts' | 'clock' | 'products' | 'devices' | 'licenseCheck' | 'deactivations' | 'idempotency'>): Router {
  const router = Router();

  /** The signed license object for the device, with its `license_signature`. */
  async function licenseResponse(res: Response, license: License, ids: { hardwareId: string; device: Device; identity: string; username?: string | undefined }) {
    const account = accountOf(res);
    const now = services.clock.now();
    const product = await services.products.productDetails(account.id, license.productCode);
    if (!product) throw new DomainError('product_not_found', 'Provided product was not found');
    const key = await services.accounts.signingKey(account.id);
    const unsigned = licenseView({
      license: licenseAsOf(license, now),
      product,
      hardwareId: ids.hardwareId,
      device: ids.device,
      floatingInUse: license.isFloatingCloud ? await services.devices.liveSeats(license) : 0,
      username: ids.username,
      now,
    });
    const body: Schemas['V4License'] = await signLicense(key.privateKey, unsigned, licenseSignatureInput(ids.hardwareId, ids.identity, license.validUntil));
    await sendSigned(res, key.privateKey, body);
  }

  router.post('/activate_license', async (req, res) => {
    const body = req.body as ActivateBody;
    const locator = activationLocatorOf(body);
    const accountId = accountOf(res).id;
    const licenseId = licenseIdOf(body);
    if (licenseId !== undefined) await services.licenseCheck.locate(accountId, locator, licenseId);
    const result = await services.devices.activate(accountId, { license: locator, password: body.password, hardwareId: body.hardware_id, details: deviceDetailsOf(body) });
    await licenseResponse(res, result.license, { hardwareId: body.hardware_id, device: result.device, identity: identityOf(body), username: body.username });
  });

  router.post('/deactivate_license', async (req, res) => {
    const body = req.body as DeactivateBody;
    const accountId = accountOf(res).id;
    const locator = licenseLocatorOf(body);
    await respondOnce(services, req, res, 'POST /api/v4/deactivate_license', async (idempotencyKey, attempt) => {
      const license = await services.licenseCheck.locate(accountId, locator, licenseIdOf(body));
      const { replayed } = await services.deactivations.deactivate({
        accountId,
        licenseId: license.id,
        hardwareId: body.hardware_id,
        consumptions: body.consumptions ?? 0,
        requestId: res.locals.requestId as string | undefined,
        idempotencyKey,
        attempt,
      });
      const view: Schemas['V4DeactivationResult'] = 'license_deactivated';
      return { view, replayed };
    });
  });

  router.get('/check_license', async (req, res) => {
    const query = req.query as unknown as CheckQuery;
    const accountId = accountOf(res).id;
    const { license, seat } = await services.licenseCheck.check(accountId, licenseLocatorOf(query), query.hardware_id, licenseIdOf(query));
    await licenseResponse(res, license, { hardwareId: query.hardware_id, device: seat, identity: identityOf(query), username: query.username });
  });

  router.post('/floating/release', async (req, res) => {
    const body = req.body as ReleaseBody;
    await services.devices.releaseFloating(accountOf(res).id, licenseLocatorOf(body), body.hardware_id, licenseIdOf(body));
    const answer: Schemas['V4FloatingReleaseResult'] = '';
    await respondSigned(services.accounts, res, answer);
  });

  router.post('/floating/borrow', async (req, res) => {
    const body = req.body as BorrowBody;
    const locator = licenseLocatorOf(body);
    const until = borrowedUntilOf(body.borrowed_until);
    const { license, device } = await services.devices.borrow(accountOf(res).id, locator, body.hardware_id, until, licenseIdOf(body));
    const answer: Schemas['V4FloatingBorrowResult'] = { license_id: license.id, device_id: device.id, borrowed_until: device.borrowedUntil!.toISOString(), max_borrow_time: license.maxBorrowTime };
    await respondSigned(services.accounts, res, answer);
  });

  return router;
}
