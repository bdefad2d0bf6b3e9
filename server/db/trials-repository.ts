import type { Trial, TrialMachine, TrialsPort } from '../domain/trials.js';
import type { License } from '../domain/types.js';
import { isDuplicateKey } from './duplicate-keys.js';
import { fromLicense, toLicense, type LicenseDocument } from './license-document.js';
import type { Models } from './models.js';

/** A trial license document: a license document with the device it was issued to and (v3) the machine's report. */
type TrialDocument = LicenseDocument & { trialHardwareId: string; trialMachine?: TrialMachine | null };

function toTrial(doc: TrialDocument): Trial {
  return { license: toLicense(doc), hardwareId: doc.trialHardwareId, machine: doc.trialMachine ?? null };
}

/**
 * Trial licenses: license documents with `trialHardwareId`, unique per account, product and hardware
 * id (a partial unique index, models.ts), so one insert decides which of concurrent requests creates
 * a device's trial license.
 */
export class TrialsRepository implements TrialsPort {
  constructor(private readonly models: Models) {}

  async findTrial(accountId: number, productId: number, hardwareId: string): Promise<Trial | null> {
    const doc = await this.models.License.findOne({ accountId, productId, trialHardwareId: hardwareId }, { outbox: 0 }).lean<TrialDocument>();
    return doc ? toTrial(doc) : null;
  }

  async findTrialById(accountId: number, licenseId: number): Promise<Trial | null> {
    const doc = await this.models.License.findOne({ _id: licenseId, accountId, trialHardwareId: { $type: 'string' } }, { outbox: 0 }).lean<TrialDocument>();
    return doc ? toTrial(doc) : null;
  }

  async insertTrial(license: License, hardwareId: string, machine: TrialMachine | null): Promise<boolean> {
    try {
      await this.models.License.create({ ...fromLicense(license), trialHardwareId: hardwareId, ...(machine ? { trialMachine: machine } : {}) });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async deleteTrial(accountId: number, licenseId: number): Promise<boolean> {
    const deleted = await this.models.License.deleteOne({ _id: licenseId, accountId, trialHardwareId: { $type: 'string' } });
    if (deleted.deletedCount === 0) return false;
    // The devices activated on it (License API activate_license of the trial key) go with it.
    await this.models.Device.deleteMany({ accountId, licenseId });
    return true;
  }
}
