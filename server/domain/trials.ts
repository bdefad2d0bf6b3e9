import type { Clock } from './clock.js';
import { deviceDetailsOf, type ActivationDetails, type Caller } from './devices.js';
import { DomainError } from './errors.js';
import { isExpired } from './license-rules.js';
import type { LicenseService } from './licenses.js';
import type { DeviceDetails } from './ports.js';
import type { ProductService } from './products.js';
import type { License, Product } from './types.js';

const DAY_MS = 86_400_000;

/** What the machine that started a trial reported about itself (the Web API v3's trial activation; none through trial_key). */
export type TrialMachine = DeviceDetails;

/** A device's trial: its trial license, the device's hardware id (v3: fingerprint) and the machine's report, or null. */
export interface Trial {
  license: License;
  hardwareId: string;
  machine: TrialMachine | null;
}

/** Where trial licenses are kept: licenses that name the device they were issued to. */
export interface TrialsPort {
  /** The trial issued to this device for this product, or null. */
  findTrial(accountId: number, productId: number, hardwareId: string): Promise<Trial | null>;
  /** The account's trial whose license has this id, or null. */
  findTrialById(accountId: number, licenseId: number): Promise<Trial | null>;
  /**
   * Stores `license` as the device's trial license (with the machine's report) unless the device has
   * one already (one atomic insert guarded by a unique index): true when stored, false when another
   * one was there first.
   */
  insertTrial(license: License, hardwareId: string, machine: TrialMachine | null): Promise<boolean>;
  /** Removes the account's trial license with this id (and the devices activated on it): false when there is none. */
  deleteTrial(accountId: number, licenseId: number): Promise<boolean>;
}

/** What a trial license is, given its product's trial settings (the one rule every dialect's trial shares). */
export function trialLicenseInput(product: Pick<Product, 'id' | 'trialDays'>, now: Date) {
  return {
    productId: product.id,
    type: 'time-limited' as const,
    isTrial: true,
    maxActivations: 1,
    validUntil: new Date(now.getTime() + product.trialDays * DAY_MS),
  };
}

/** A Web API v3 trial activation request: the product (null: an id that names none), the account it names, the machine. */
export interface TrialActivationInput {
  productId: number | null;
  /** The account the request names (undefined: none named; null: an id that names none). */
  accountId?: number | null | undefined;
  fingerprint: string;
  details: ActivationDetails;
}

/**
 * Trials: one per product and device (License API v4 `hardware_id`, Web API v3 `fingerprint`),
 * created the first time the device asks and answered again afterwards, while the product allows
 * trials; valid `trialDays` from its creation (`trial_expired` afterwards). Exactly once: concurrent
 * requests of one device store one license (TrialsPort.insertTrial) and all answer it. Both dialects
 * go through `trialOf`.
 */
export class TrialService {
  constructor(
    private readonly repo: TrialsPort,
    private readonly products: Pick<ProductService, 'findByShortCode' | 'findProduct'>,
    private readonly licenses: Pick<LicenseService, 'newLicense'>,
    private readonly clock: Clock,
  ) {}

  /** License API v4 `trial_key`: the device's trial license (`created`: by this call); `trial_not_allowed`, `trial_expired`. */
  async trialLicense(accountId: number, productCode: string, hardwareId: string): Promise<{ license: License; created: boolean; trialDays: number }> {
    const product = await this.products.findByShortCode(accountId, productCode);
    if (!product) throw new DomainError('product_not_found', 'Provided product was not found');
    const { trial, created } = await this.trialOf(product, hardwareId, null);
    return { license: trial.license, created, trialDays: trialDaysOf(trial.license, product) };
  }

  /**
   * Web API v3 trial activation: the machine's trial of the product the request names (of the
   * caller's account when it has one; `accountId`, when named, must be the product's), started with
   * the machine's report the first time. An unknown product or another account is `not_found`.
   */
  async startTrial(caller: Caller, input: TrialActivationInput): Promise<{ trial: Trial; created: boolean }> {
    const machine = deviceDetailsOf(input.details);
    const product = input.productId === null ? null : await this.products.findProduct(input.productId, caller.accountId ?? undefined);
    if (!product) throw new DomainError('not_found', 'Product not found');
    if (input.accountId !== undefined && input.accountId !== product.accountId) throw new DomainError('not_found', 'Account not found');
    return this.trialOf(product, input.fingerprint, machine);
  }

  /** The account's trial with this id (its license id; null: an id that names none), expired or not; else `not_found`. */
  async findTrial(accountId: number, trialId: number | null): Promise<Trial> {
    const trial = trialId === null ? null : await this.repo.findTrialById(accountId, trialId);
    if (!trial) throw new DomainError('not_found', 'Trial activation not found');
    return trial;
  }

  /** Removes the account's trial with this id: the device may then start a new trial. `not_found` when there is none. */
  async deleteTrial(accountId: number, trialId: number | null): Promise<void> {
    const deleted = trialId === null ? false : await this.repo.deleteTrial(accountId, trialId);
    if (!deleted) throw new DomainError('not_found', 'Trial activation not found');
  }

  /** The one trial rule: the product allows trials; the device's trial, stored once; refused once it has run out. */
  private async trialOf(product: Product, hardwareId: string, machine: TrialMachine | null): Promise<{ trial: Trial; created: boolean }> {
    if (!product.allowTrial) throw new DomainError('trial_not_allowed', 'Product does not allow trial');
    let trial = await this.repo.findTrial(product.accountId, product.id, hardwareId);
    let created = false;
    if (!trial) {
      const fresh = await this.licenses.newLicense(product.accountId, trialLicenseInput(product, this.clock.now()));
      created = await this.repo.insertTrial(fresh, hardwareId, machine);
      trial = created ? { license: fresh, hardwareId, machine } : await this.repo.findTrial(product.accountId, product.id, hardwareId);
      // Lost the race to a trial that was then removed at once: nothing to answer but a retry.
      if (!trial) throw new DomainError('concurrent_modification', 'The trial license changed meanwhile; retry');
    }
    if (isExpired(trial.license, this.clock.now())) throw new DomainError('trial_expired', 'Trial period for device has expired');
    return { trial, created };
  }
}

/** The days a trial license was issued for (its validity from its creation, in whole days). */
function trialDaysOf(license: License, product: Pick<Product, 'trialDays'>): number {
  if (!license.validUntil) return product.trialDays;
  return Math.round((license.validUntil.getTime() - license.createdAt.getTime()) / DAY_MS);
}
