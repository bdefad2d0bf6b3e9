/**
 * The real server in a child process for the fault-injection suite (`node --import tsx` this file),
 * wired like `npm start`: the environment chooses the database (DATA_DIR for the in-process engine,
 * or MONGODB_URI + MONGODB_DB_NAME + SECRETS_KEY). Listens on a free loopback port, silent.
 *
 * With FAULTS_SEED=<json {limit, bulk, seats}> it first creates an account, one consumption license
 * carrying everything the counter workloads use and two licenses for the seat workloads (see
 * seedFaultLicense). Prints one JSON line
 * `{url, dbUri, dbName, seed?}` once it listens: `dbUri` is the engine's URI (the in-process engine's
 * own socket when MONGODB_URI is unset), so the test can read the database directly.
 */
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';
import type { Services } from '../../server/services.js';
import { buildAccount, buildLicense, buildProduct, buildV3Activation, consumptionFeature, fingerprint, uniqueSuffix } from '../support/fixtures.js';

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
const server = await startServer({ config, logger: createLogger('silent'), print: () => undefined });

interface SeedSpec {
  limit: number;
  bulk: number;
  /** `maxActivations` of each seat license. */
  seats: number;
}

/**
 * One account; one product with consumption features `api-calls` (v4 feature workload), `meter` (v3
 * meter attribute workload) and `bulk` (other traffic on the same license); one license of type
 * consumption (`consumption.max` = limit: the v4 add_consumption workload) with device `hw-1`
 * (License API) and one Web API v3 activation; and two perpetual licenses of the same product with
 * no device and `maxActivations` = seats, one for each seat workload (License API v4 activations, Web
 * API v3 activations), so that their seat counts hold only what those workloads take.
 */
async function seedFaultLicense(services: Services, spec: SeedSpec) {
  const { account, credentials } = await buildAccount(services, `faults-${uniqueSuffix()}`);
  const accountId = account.id;
  const product = await buildProduct(services, accountId, {
    name: 'Faults',
    codePrefix: 'faults',
    features: [consumptionFeature('api-calls', spec.limit), consumptionFeature('meter', spec.limit), consumptionFeature('bulk', spec.bulk)],
  });
  const {
    license,
    devices: [hwDevice],
  } = await buildLicense(
    services,
    accountId,
    {
      productId: product.id,
      type: 'consumption',
      maxActivations: 5,
      consumption: { max: spec.limit },
      features: [
        { code: 'api-calls', max: spec.limit },
        { code: 'meter', max: spec.limit },
        { code: 'bulk', max: spec.bulk },
      ],
    },
    ['hw-1'],
  );
  const { device } = await buildV3Activation(services, { productId: product.id, key: license.key!, fingerprint: fingerprint(`faults-${uniqueSuffix(4)}`) });
  const seatLicense = async () => {
    const created = await services.licenses.createLicense(accountId, { productId: product.id, type: 'perpetual', maxActivations: spec.seats, features: [] });
    return { licenseId: created.id, licenseKey: created.key!, productId: String(product.id) };
  };
  const seatLicenses = { v4: await seatLicense(), v3: await seatLicense() };
  const publicKeyPem = (await services.accounts.signingKey(accountId)).publicKeyPem;
  return {
    accountId,
    credentials: { licenseApiKey: credentials.licenseApiKey, sharedKey: credentials.sharedKey },
    publicKeyPem,
    licenseId: license.id,
    licenseKey: license.key!,
    product: product.shortCode,
    hwDeviceId: hwDevice!.id,
    activationId: device.activationId,
    activationDeviceId: device.id,
    seatLicenses,
  };
}

const seedSpec = process.env.FAULTS_SEED;
const seed = seedSpec ? await seedFaultLicense(server.services, JSON.parse(seedSpec) as SeedSpec) : undefined;
process.stdout.write(`${JSON.stringify({ url: server.url, dbUri: server.db.uri, dbName: server.db.connection.name, ...(seed ? { seed } : {}) })}\n`);
