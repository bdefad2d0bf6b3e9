/**
 * Floor (c): the least work a License API consumption and a license check can do on this stack, to
 * measure the real server against. The same `createApp` stack as ceiling (b), the server's own License
 * API request check (`licenseApiAuth`: HMAC over the Date header, the cached key lookup), and its own
 * response signing (`respondSigned` / `sendSigned`, RSA `LicenseSignature`), on the database the bench
 * seeded (MONGODB_URI, MONGODB_DB_NAME, SECRETS_KEY as the server gets them):
 *
 * - `POST /api/v4/add_feature_consumption`: exactly one guarded `findOneAndUpdate` of the shape of a
 *   consumption (the license by account, product and key, enabled, the feature by `$elemMatch`, its
 *   limit as `$expr`; `$inc` of the feature's total; only that feature returned), answered with the
 *   feature's consumption view. No seat, ledger, outbox, events or idempotency.
 * - `GET /api/v4/check_license`: exactly one read of the license (without its seats, outbox and
 *   idempotency keys), answered with the license view and its `license_signature`, as check_license
 *   answers it (product details through the server's cache). `device_id` is 0: no seat is read.
 */
import { Router } from 'express';
import type { components, operations } from '../generated/schema.js';
import { createApp } from '../server/app.js';
import { openDatabase } from '../server/db/connection.js';
import { toLicense, type LicenseDocument } from '../server/db/license-document.js';
import { licenseAsOf } from '../server/domain/license-check.js';
import { licenseLocatorFilter } from '../server/domain/license-rules.js';
import type { LicenseFeature } from '../server/domain/types.js';
import { ApiError } from '../server/http/api-error.js';
import { accountOf, licenseApiAuth } from '../server/http/v4/auth.js';
import { featureConsumptionView, identityOf, licenseLocatorOf, licenseView } from '../server/http/v4/mappers.js';
import { licenseSignatureInput, respondSigned, sendSigned, signLicense } from '../server/http/v4/response-signing.js';
import { createLogger } from '../server/logger.js';
import { createServices } from '../server/services.js';

type ConsumeBody = components['schemas']['V4AddFeatureConsumptionRequest'];
type CheckQuery = operations['checkLicense']['parameters']['query'];

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const logger = createLogger((process.env.LOG_LEVEL as 'warn' | undefined) ?? 'warn');
const db = await openDatabase({ uri: env('MONGODB_URI'), dbName: env('MONGODB_DB_NAME'), logger });
const services = createServices(db, { secretsKey: env('SECRETS_KEY') });
const licenses = db.models.License.collection;

/** The guarded consumption: the filter of a feature consumption without seat and idempotency guards. */
function consumption(accountId: number, body: ConsumeBody) {
  const amount = body.consumptions ?? 1;
  const code = body.feature;
  const filter = {
    ...licenseLocatorFilter(accountId, licenseLocatorOf(body)),
    enabled: true,
    features: { $elemMatch: { code } },
    $expr: {
      $let: {
        vars: { m: { $arrayElemAt: [{ $filter: { input: '$features', as: 'f', cond: { $eq: ['$$f.code', code] } } }, 0] } },
        in: { $or: [{ $eq: ['$$m.ceiling', null] }, { $lte: [{ $add: ['$$m.total', amount] }, '$$m.ceiling'] }] },
      },
    },
  };
  return licenses.findOneAndUpdate(filter as never, { $inc: { 'features.$[m].total': amount } } as never, {
    returnDocument: 'after',
    arrayFilters: [{ 'm.code': code }],
    projection: { _id: 1, 'features.$': 1 },
  }) as Promise<{ _id: number; features: LicenseFeature[] } | null>;
}

const router = Router();
router.use(licenseApiAuth({ accounts: services.accounts, clock: services.clock, credentials: services.caches.licenseApiCredentials }));

router.post('/add_feature_consumption', async (req, res) => {
  const doc = await consumption(accountOf(res).id, req.body as ConsumeBody);
  if (!doc?.features[0]) throw new ApiError(400, 'consumption_refused', 'No license matched the guarded update');
  await respondSigned(services.accounts, res, featureConsumptionView({ id: doc._id, accountId: accountOf(res).id }, doc.features[0]));
});

router.get('/check_license', async (req, res) => {
  const query = req.query as unknown as CheckQuery;
  const account = accountOf(res);
  const doc = (await licenses.findOne(licenseLocatorFilter(account.id, licenseLocatorOf(query)) as never, { projection: { seats: 0, outbox: 0, recentOps: 0 } })) as LicenseDocument | null;
  if (!doc) throw new ApiError(404, 'license_not_found', 'License not found');
  const license = toLicense(doc);
  const now = services.clock.now();
  const product = await services.products.productDetails(account.id, license.productCode);
  if (!product) throw new ApiError(404, 'product_not_found', 'Provided product was not found');
  const key = await services.accounts.signingKey(account.id);
  const unsigned = licenseView({ license: licenseAsOf(license, now), product, hardwareId: query.hardware_id, device: { id: 0, borrowedUntil: null }, floatingInUse: 0, now });
  await sendSigned(res, key.privateKey, await signLicense(key.privateKey, unsigned, licenseSignatureInput(query.hardware_id, identityOf(query), license.validUntil)));
});

const app = createApp({ logger, validateResponses: false, checkReadiness: () => db.ping(), apis: [{ basePath: '/api/v4', router }] });
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => void db.close().then(() => process.exit(0))));
