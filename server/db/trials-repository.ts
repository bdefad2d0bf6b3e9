import type { License } from '../domain/types.js';
import type { TrialsPort } from '../domain/trials.js';
import { isDuplicateKey } from './duplicate-keys.js';
import { fromLicense, toLicense, type LicenseDocument } from './license-document.js';
import type { Models } from './models.js';

/**
 * Trial licenses: license documents with `trialHardwareId`, unique per account, product and hardware
 * id (a partial unique index, models.ts), so one insert decides which of concurrent requests creates
 * a device's trial license.
 */
export class TrialsRepository implements TrialsPort {
  constructor(private readonly models: Models) {}

  async findTrial(accountId: number, productId: number, hardwareId: string): Promise<License | null> {
    const doc = await this.models.License.findOne({ accountId, productId, trialHardwareId: hardwareId }, { outbox: 0 }).lean<LicenseDocument>();
    return doc ? toLicense(doc) : null;
  }

  async insertTrial(license: License, hardwareId: string): Promise<boolean> {
    try {
      await this.models.License.create({ ...fromLicense(license), trialHardwareId: hardwareId });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }
}
