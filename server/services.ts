import { AccountsRepository } from './db/accounts-repository.js';
import type { Database } from './db/connection.js';
import { DevicesRepository } from './db/devices-repository.js';
import { LedgerRepository } from './db/ledger-repository.js';
import { LicenseAdminRepository } from './db/license-admin-repository.js';
import { LicenseMetersRepository } from './db/license-meters.js';
import { LicensesRepository } from './db/licenses-repository.js';
import { ProductsRepository } from './db/products-repository.js';
import { AccountService } from './domain/accounts.js';
import { systemClock, type Clock } from './domain/clock.js';
import { ConsumptionService } from './domain/consumption.js';
import { DeviceService } from './domain/devices.js';
import { LicenseAdminService } from './domain/license-admin.js';
import { LicenseService } from './domain/licenses.js';
import { ProductService } from './domain/products.js';
import { SecretBox } from './domain/secrets.js';

export interface ServicesOptions {
  clock?: Clock;
  /** Base64 of 32 bytes (SECRETS_KEY). */
  secretsKey: string;
}

/** The composition root of the domain: repositories on the database, services on the repositories. */
export function createServices(db: Database, options: ServicesOptions) {
  const clock = options.clock ?? systemClock;
  const box = new SecretBox(options.secretsKey);
  const productsRepo = new ProductsRepository(db.models);
  const metersRepo = new LicenseMetersRepository(db.models);
  const ledger = new LedgerRepository(db.models);
  const licensesRepo = new LicensesRepository(db.models);
  const products = new ProductService(productsRepo, clock);
  const productLookup = { productExists: (accountId: number, shortCode: string) => products.productExists(accountId, shortCode) };
  return {
    clock,
    accounts: new AccountService(new AccountsRepository(db.models), box, clock),
    products,
    licenses: new LicenseService(licensesRepo, products, clock),
    licenseAdmin: new LicenseAdminService(new LicenseAdminRepository(db.models, ledger), licensesRepo, products, clock),
    devices: new DeviceService(new DevicesRepository(db.models), metersRepo, productLookup, clock),
    consumption: new ConsumptionService(metersRepo, ledger, productLookup, clock),
    ledger,
  };
}

export type Services = ReturnType<typeof createServices>;
