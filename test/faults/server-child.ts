/**
 * The real server in a child process for the fault-injection suite (`node --import tsx` this file),
 * wired like `npm start`: the environment chooses the database (DATA_DIR for the in-process engine,
 * or MONGODB_URI + MONGODB_DB_NAME + SECRETS_KEY). Listens on a free loopback port, silent.
 *
 * With FAULTS_SEED=<json {limit, bulk}> it first creates an account and one consumption license
 * carrying everything the three workloads use (see seedFaultLicense). Prints one JSON line
 * `{url, dbUri, dbName, seed?}` once it listens: `dbUri` is the engine's URI (the in-process engine's
 * own socket when MONGODB_URI is unset), so the test can read the database directly.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/server.js';
import type { Services } from '../../server/services.js';

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
const server = await startServer({ config, logger: createLogger('silent'), print: () => undefined });

/**
 * One account; one product with consumption features `api-calls` (v4 feature workload), `meter` (v3
 * meter attribute workload) and `bulk` (other traffic on the same license); one license of type
 * consumption (`consumption.max` = limit: the v4 add_consumption workload) with device `hw-1`
 * (License API) and one Web API v3 activation.
 */
async function seedFaultLicense(services: Services, spec: { limit: number; bulk: number }) {
  const { account, credentials } = await services.accounts.createAccount({ name: `faults-${randomBytes(3).toString('hex')}` });
  const accountId = account.id;
  const product = await services.products.createProduct(accountId, { name: 'Faults', shortCode: `faults-${randomBytes(4).toString('hex')}` });
  for (const [code, max] of [['api-calls', spec.limit], ['meter', spec.limit], ['bulk', spec.bulk]] as const) {
    await services.products.addFeature(accountId, product.id, { code, name: code, featureType: 'consumption', maxConsumption: max });
  }
  const license = await services.licenses.createLicense(accountId, {
    productId: product.id,
    type: 'consumption',
    maxActivations: 5,
    consumption: { max: spec.limit },
    features: [
      { code: 'api-calls', max: spec.limit },
      { code: 'meter', max: spec.limit },
      { code: 'bulk', max: spec.bulk },
    ],
  });
  const hw = await services.devices.activate(accountId, { license: { licenseId: license.id }, hardwareId: 'hw-1' });
  const { device } = await services.devices.activateByKey(
    { accountId: null },
    { productId: product.id, key: license.key!, fingerprint: `fp-faults-${randomBytes(4).toString('hex')}-`.padEnd(64, 'x'), details: { os: 'linux', hostname: 'h1' } },
  );
  const publicKeyPem = (await services.accounts.signingKey(accountId)).publicKeyPem;
  return {
    accountId,
    credentials: { licenseApiKey: credentials.licenseApiKey, sharedKey: credentials.sharedKey },
    publicKeyPem,
    licenseId: license.id,
    licenseKey: license.key!,
    product: product.shortCode,
    hwDeviceId: hw.device.id,
    activationId: device.activationId,
    activationDeviceId: device.id,
  };
}

const seedSpec = process.env.FAULTS_SEED;
const seed = seedSpec ? await seedFaultLicense(server.services, JSON.parse(seedSpec) as { limit: number; bulk: number }) : undefined;
process.stdout.write(`${JSON.stringify({ url: server.url, dbUri: server.db.uri, dbName: server.db.connection.name, ...(seed ? { seed } : {}) })}\n`);
