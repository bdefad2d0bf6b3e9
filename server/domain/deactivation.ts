import type { ConsumeResult, ConsumptionService } from './consumption.js';
import type { DeviceService } from './devices.js';
import { DomainError } from './errors.js';
import type { IdempotentAttempt } from './idempotency.js';
import { LedgerEvent, type License } from './types.js';

export interface DeactivationInput {
  accountId: number;
  /** The license (already located and checked by the caller). */
  licenseId: number;
  hardwareId: string;
  /** License-level consumptions to count before the seat is freed (see ConsumptionService.consumeLicense); 0: none. */
  consumptions: number;
  requestId?: string | undefined;
  /** The Idempotency-Key the deactivation runs under, if any, and what its claim tells (see IdempotencyService). */
  idempotencyKey?: string | undefined;
  attempt?: IdempotentAttempt | undefined;
}

/**
 * A License API deactivation that may carry consumptions: they are counted first, as any License API
 * license-level consumption is (ConsumptionService: limits, overages, negatives, ledger entry, one
 * guarded update), while the device's release is claimed; a refused consumption frees no seat.
 *
 * Once the consumption is counted (by this attempt, or by an earlier attempt under the same
 * Idempotency-Key whose claim this one took over), a seat that is already free answers the
 * deactivation as done: the earlier attempt may have freed it, and in any case the request's whole
 * effect (counted, device without seat) holds. So a retry never counts again.
 */
export class LicenseDeactivations {
  constructor(
    private readonly deps: {
      devices: Pick<DeviceService, 'deactivate'>;
      consumption: Pick<ConsumptionService, 'consumeLicense' | 'appliedLicenseChange'>;
    },
  ) {}

  /** Deactivates the device; `replayed` when an earlier attempt under the key had already done it all. */
  async deactivate(input: DeactivationInput): Promise<{ license?: License; replayed: boolean }> {
    const { accountId, licenseId, hardwareId, idempotencyKey } = input;
    const resumedSince = input.attempt?.resumedSince;
    let counted: ConsumeResult | null = null;
    if (input.consumptions !== 0 && idempotencyKey !== undefined && resumedSince !== undefined) {
      counted = await this.deps.consumption.appliedLicenseChange(accountId, { licenseId }, idempotencyKey, resumedSince);
    }
    const earlier = counted !== null;
    const count =
      input.consumptions === 0 || earlier
        ? undefined
        : async () => {
            counted = await this.deps.consumption.consumeLicense({
              accountId,
              license: { licenseId },
              amount: input.consumptions,
              seat: { hardwareId },
              event: LedgerEvent.consumption,
              requestId: input.requestId,
              idempotencyKey,
              writeDeadline: input.attempt?.writeDeadline,
            });
          };
    try {
      const { license } = await this.deps.devices.deactivate(accountId, { licenseId }, hardwareId, count);
      return { license, replayed: false };
    } catch (err) {
      if (counted !== null && err instanceof DomainError && err.code === 'device_not_found') return { replayed: earlier };
      throw err;
    }
  }
}
