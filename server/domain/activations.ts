import type { Clock } from './clock.js';
import type { ConsumptionService } from './consumption.js';
import type { DeviceService } from './devices.js';
import type { EventOutbox } from './event-outbox.js';
import { requestFingerprint, type IdempotencyService, type IdempotentAttempt } from './idempotency.js';
import { DomainError } from './errors.js';
import { MeterTargetCache, type MeterTarget } from './meter-target-cache.js';
import { findMeterAttribute, meterAttributeView, type MeterAttributeUses, type MeterAttributeView, type UsesChange } from './meter-attributes.js';
import { LedgerEvent, type Device, type License } from './types.js';
import type { DeviceDetails, DevicesPort, LicenseMetersPort, LicensesPort } from './ports.js';
import { assertUsable } from './license-rules.js';

/**
 * Activations as the Web API v3 sees them: a device holding a seat on a license. The device document
 * carries the machine details; the license document's seat says whether it is active, and the
 * license's features carry its meter attribute uses.
 */
export interface Activation {
  device: Device;
  license: License;
}

/** Who calls: an account (Bearer token) or an unauthenticated client (its key / activation id authenticate it). */
export interface Caller {
  accountId: number | null;
}

/** Machine details a client reports (undefined = unchanged). */
export interface ActivationDetailsInput {
  os?: string | undefined;
  osVersion?: string | undefined;
  hostname?: string | undefined;
  vmName?: string | undefined;
  container?: boolean | undefined;
  userHash?: string | undefined;
  releaseVersion?: string | undefined;
  releaseChannel?: string | undefined;
  releasePlatform?: string | undefined;
  releasePublishedAt?: Date | undefined;
  userId?: string | undefined;
  deviceId?: string | undefined;
  ipAddress?: string | undefined;
  /** Seconds; -1 or 0 = unlimited. */
  leaseDuration?: number | undefined;
  metadata?: Array<{ key: string; value: string }> | undefined;
}

/** How the client names its license: product id and key (both as sent), and optionally the account id. */
export interface LicenseCredentials {
  productId: string;
  key: string;
  /** Empty = not given. */
  accountId: string;
}

export interface CreateActivationInput extends LicenseCredentials {
  fingerprint: string;
  details: ActivationDetailsInput;
}

export interface UpdateActivationInput extends LicenseCredentials {
  fingerprint: string;
  details: ActivationDetailsInput;
  meterAttributes: UsesChange[];
  requestId?: string | undefined;
}

export interface IncrementInput {
  /** The meter attribute's id or name. */
  attribute: string;
  activationId: string;
  amount: number;
  /** Empty or undefined = not given. */
  productId?: string | undefined;
  accountId?: string | undefined;
  requestId?: string | undefined;
  /** Counted at most once per key (see IdempotencyService; needs `idempotency` among the deps). */
  idempotencyKey?: string | undefined;
}

/** Latest lease end a Date can show in every format (9999-12-31T23:59:59Z). */
const LATEST_LEASE_END = Date.UTC(9999, 11, 31, 23, 59, 59);
const NUMERIC_ID = /^[0-9]{1,16}$/;

function leaseEnd(leaseDuration: number, now: Date): Date | null {
  if (leaseDuration <= 0) return null;
  return new Date(Math.min(now.getTime() + leaseDuration * 1000, LATEST_LEASE_END));
}

export function deviceDetailsOf(input: ActivationDetailsInput, now: Date): DeviceDetails {
  const details: DeviceDetails = {};
  for (const [name, value] of Object.entries(input)) {
    if (value !== undefined && name !== 'leaseDuration') (details as Record<string, unknown>)[name] = value;
  }
  if (input.leaseDuration !== undefined) {
    details.leaseDuration = input.leaseDuration;
    details.leaseExpiresAt = leaseEnd(input.leaseDuration, now);
  }
  return details;
}

export class ActivationService {
  private readonly meterTargets = new MeterTargetCache();

  constructor(
    private readonly deps: {
      devices: DeviceService;
      devicesRepo: DevicesPort;
      licensesRepo: LicensesPort;
      meters: LicenseMetersPort;
      consumption: ConsumptionService;
      meterUses: MeterAttributeUses;
      clock: Clock;
      events?: EventOutbox | undefined;
      /** Idempotency-Keys of meter attribute increments. */
      idempotency?: IdempotencyService | undefined;
    },
  ) {}

  /** The license a client names by product id and key (within the caller's account when it has one). */
  private async licenseFor(caller: Caller, credentials: LicenseCredentials): Promise<License> {
    const license = NUMERIC_ID.test(credentials.productId)
      ? await this.deps.licensesRepo.findByProductAndKey(Number(credentials.productId), credentials.key, caller.accountId ?? undefined)
      : null;
    if (!license) throw new DomainError('license_not_found', 'The license key is invalid for this product');
    if (credentials.accountId !== '' && credentials.accountId !== String(license.accountId)) throw new DomainError('not_found', 'Account not found');
    return license;
  }

  private assertUsable(license: License): void {
    assertUsable(license, this.deps.clock.now(), 'The license has been revoked');
  }

  /** Activates the license on a machine (idempotent per fingerprint). */
  async create(caller: Caller, input: CreateActivationInput): Promise<Activation & { created: boolean }> {
    const license = await this.licenseFor(caller, input);
    const now = this.deps.clock.now();
    const result = await this.deps.devices.activate(license.accountId, {
      license: { licenseId: license.id },
      hardwareId: input.fingerprint,
      details: deviceDetailsOf(input.details, now),
    });
    return { device: result.device, license: result.license, created: !result.alreadyActive };
  }

  /** The activation (a device holding a seat); another account's or a deleted one is `not_found`. */
  async get(caller: Caller, activationId: string): Promise<Activation> {
    const device = await this.deps.devicesRepo.findByActivationId(activationId);
    if (!device || (caller.accountId !== null && device.accountId !== caller.accountId)) throw new DomainError('not_found', 'Activation not found');
    const license = await this.deps.meters.find(device.accountId, { licenseId: device.licenseId });
    if (!license || !license.seats.some((s) => s.deviceId === device.id)) throw new DomainError('not_found', 'Activation not found');
    return { device, license };
  }

  /** The account's activations, oldest first, optionally of one license (id as sent). */
  async list(accountId: number, licenseId: string | undefined, skip: number, limit: number): Promise<Activation[]> {
    if (licenseId !== undefined && !NUMERIC_ID.test(licenseId)) return [];
    const filter: Record<string, unknown> = { active: true, ...(licenseId !== undefined ? { licenseId: Number(licenseId) } : {}) };
    const { items } = await this.deps.devicesRepo.list(accountId, filter, skip, limit);
    const licenses = new Map<number, License>();
    for (const id of new Set(items.map((d) => d.licenseId))) {
      const license = await this.deps.meters.find(accountId, { licenseId: id });
      if (license) licenses.set(id, license);
    }
    return items.flatMap((device) => {
      const license = licenses.get(device.licenseId);
      return license && license.seats.some((s) => s.deviceId === device.id) ? [{ device, license }] : [];
    });
  }

  /**
   * Updates an activation: the license key and product must be the activation's, the fingerprint
   * its own. Meter attribute changes apply all or nothing, before any detail changes.
   */
  async update(caller: Caller, activationId: string, input: UpdateActivationInput): Promise<Activation> {
    const { device, license } = await this.get(caller, activationId);
    if (input.productId !== String(license.productId) || input.key !== license.key) {
      throw new DomainError('license_not_found', 'The license key is invalid for this activation');
    }
    if (input.accountId !== '' && input.accountId !== String(license.accountId)) throw new DomainError('not_found', 'Account not found');
    this.assertUsable(license);
    if (input.fingerprint !== device.hardwareId) throw new DomainError('fingerprint_mismatch', 'The machine fingerprint differs from the activation\'s');
    let current = license;
    // One `activation.updated`, recorded with the first write: the license's (with the meter
    // attribute changes) when uses change, else the device's (details only).
    const event = this.deps.events?.entry({ type: 'activation.updated', accountId: license.accountId, activationId });
    const onLicense = input.meterAttributes.some((m) => m.amount !== 0);
    if (input.meterAttributes.length > 0) {
      current = await this.deps.meterUses.change({
        accountId: license.accountId,
        licenseId: license.id,
        activationId,
        deviceId: device.id,
        changes: input.meterAttributes,
        requestId: input.requestId,
        ...(event && onLicense ? { events: [event] } : {}),
      });
    }
    const now = this.deps.clock.now();
    const deviceEvents = event && !onLicense ? [event] : [];
    const updated = (await this.deps.devicesRepo.update(license.accountId, device.id, { ...deviceDetailsOf(input.details, now), lastSyncedAt: now }, now, deviceEvents)) ?? device;
    if (event) await this.deps.events!.settle(onLicense ? { licenseId: license.id } : { deviceId: device.id }, license.id, [event], { license: current, device: updated });
    return { device: updated, license: current };
  }

  /**
   * Deletes an activation: frees its seat; uses of floating meter attributes (the feature or the
   * license floats) go back to the license total, other uses stay counted. Gross never changes.
   */
  async delete(caller: Caller, activationId: string): Promise<Activation> {
    const { device, license } = await this.get(caller, activationId);
    return this.deps.devices.deactivateDevice(license.accountId, device);
  }

  /**
   * Changes one meter attribute's uses by this activation (guarded; see ConsumptionService). A
   * repeated increment of a known activation and attribute makes no read before the update (see
   * MeterTargetCache); when that update is refused, the full path reads everything and answers.
   */
  async incrementMeterAttribute(caller: Caller, input: IncrementInput): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    const known = this.meterTargets.get(input.activationId, input.attribute);
    if (known && Number.isSafeInteger(input.amount) && this.mayIncrement(caller, input, known)) {
      try {
        return await this.incrementOnce(input, known, undefined);
      } catch (err) {
        // The key's own answers (reused, still running) are final; anything else is re-checked by the full path.
        if (!(err instanceof DomainError) || err.code === 'idempotency_key_reused') throw err;
        this.meterTargets.forget(input.activationId);
      }
    }
    const { device, license } = await this.get(caller, input.activationId);
    if (!this.mayIncrement(caller, input, device)) throw new DomainError('not_found', 'Activation not found');
    if (!Number.isSafeInteger(input.amount)) throw new DomainError('invalid_input', 'increment is too large', { field: 'increment' });
    const feature = findMeterAttribute(license, input.attribute);
    if (!feature) throw new DomainError('feature_not_on_license', `Meter attribute "${input.attribute}" not found`);
    const target: MeterTarget = { accountId: device.accountId, productId: device.productId, licenseId: license.id, deviceId: device.id, code: feature.code };
    const result = await this.incrementOnce(input, target, device);
    this.meterTargets.remember(input.activationId, input.attribute, target);
    return result;
  }

  /** The increment, counted once per Idempotency-Key when one is given (the key is the account's). */
  private async incrementOnce(input: IncrementInput, target: MeterTarget, device: Device | undefined): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    const key = input.idempotencyKey;
    const idempotency = this.deps.idempotency;
    if (key === undefined || !idempotency) return this.incrementUses(input, target, device, {});
    const fingerprint = requestFingerprint(`POST /v3/activations/meter-attributes/${input.attribute}`, {
      activationId: input.activationId,
      increment: input.amount,
      productId: input.productId ?? '',
      accountId: input.accountId ?? '',
    });
    const outcome = await idempotency.run(target.accountId, key, fingerprint, async (attempt) => {
      const { attribute, replayed } = await this.incrementUses(input, target, device, attempt);
      return { status: 200, body: JSON.stringify(attribute), replayed };
    });
    return { attribute: JSON.parse(outcome.body) as MeterAttributeView, replayed: outcome.replayed };
  }

  /** Whether the caller may change this activation's uses, with the account and product the body names. */
  private mayIncrement(caller: Caller, input: IncrementInput, activation: { accountId: number; productId: number }): boolean {
    if (caller.accountId !== null && caller.accountId !== activation.accountId) return false;
    if (input.accountId !== undefined && input.accountId !== '' && input.accountId !== String(activation.accountId)) return false;
    if (input.productId !== undefined && input.productId !== '' && input.productId !== String(activation.productId)) return false;
    return true;
  }

  private async incrementUses(input: IncrementInput, target: MeterTarget, device: Device | undefined, attempt: IdempotentAttempt): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    const result = await this.deps.consumption.consume({
      accountId: target.accountId,
      license: { licenseId: target.licenseId },
      target: { scope: 'feature', code: target.code },
      seat: { activationId: input.activationId },
      trackDeviceUses: true,
      deviceId: target.deviceId,
      device,
      amount: input.amount,
      negatives: 'floor-only',
      event: LedgerEvent.activationUses,
      requestId: input.requestId,
      idempotencyKey: input.idempotencyKey,
      idempotencyResumedSince: attempt.resumedSince,
      alsoRaise: [{ type: 'activation.updated', accountId: target.accountId, activationId: input.activationId }],
    });
    const after = result.license.features.find((f) => f.code === target.code)!;
    return { attribute: meterAttributeView(after, target.deviceId, this.deps.clock.now()), replayed: result.replayed };
  }
}
