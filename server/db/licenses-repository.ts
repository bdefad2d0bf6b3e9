import type { License } from '../domain/types.js';
import { fromLicense, toLicense, type LicenseDocument } from './license-document.js';
import type { Models } from './models.js';
import type { FilterQuery } from './query-types.js';
import type { LicensesPort } from '../domain/ports.js';

/**
 * License documents: inserts, reads and the last check time. The other writes on a license are
 * LicenseMetersRepository (counters), LicenseAdminRepository (management), ActivationSeatsRepository
 * (seat release) and DevicesRepository.takeSeat.
 */
export class LicensesRepository implements LicensesPort {
  constructor(private readonly models: Models) {}

  async insert(license: License): Promise<License> {
    await this.models.License.create(fromLicense(license));
    return license;
  }

  async findById(accountId: number, id: number): Promise<License | null> {
    const doc = await this.models.License.findOne({ _id: id, accountId }, { outbox: 0 }).lean<LicenseDocument>();
    return doc ? toLicense(doc) : null;
  }

  /** The license with this key on this product (any account, or only `accountId`'s). */
  async findByProductAndKey(productId: number, key: string, accountId?: number): Promise<License | null> {
    const filter: FilterQuery = { productId, key, ...(accountId !== undefined ? { accountId } : {}) };
    const doc = await this.models.License.findOne(filter, { outbox: 0 }).lean<LicenseDocument>();
    return doc ? toLicense(doc) : null;
  }

  /** Sets the license's last check time, never moving it back (concurrent checks may land in any order). */
  async markChecked(licenseId: number, at: Date): Promise<void> {
    await this.models.License.collection.updateOne({ _id: licenseId, $or: [{ lastCheck: null }, { lastCheck: { $lt: at } }] } as never, { $set: { lastCheck: at } });
  }

  async keyTaken(accountId: number, productCode: string, key: string): Promise<boolean> {
    return (await this.models.License.exists({ accountId, productCode, key })) !== null;
  }

  async list(accountId: number, filter: FilterQuery, skip: number, limit: number): Promise<{ items: License[]; count: number }> {
    const query = { ...filter, accountId };
    const [docs, count] = await Promise.all([
      this.models.License.find(query, { outbox: 0 }).sort({ createdAt: 1, _id: 1 }).skip(skip).limit(limit).lean<LicenseDocument[]>(),
      this.models.License.countDocuments(query),
    ]);
    return { items: docs.map(toLicense), count };
  }
}
