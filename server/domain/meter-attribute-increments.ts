import type { Clock } from './clock.js';
import { consumeThrough, type ConsumptionService } from './consumption.js';
import type { Caller, DeviceService } from './devices.js';
import type { IdempotencyService, IdempotentAttempt } from './idempotency.js';
import { DomainError } from './errors.js';
import { findMeterAttribute, meterAttributeView, type MeterAttributeView } from './meter-attributes.js';
import { LedgerEvent, type Device } from './types.js';
import type { TtlCache } from './ttl-cache.js';

/**
 * What an activation's meter-attribute increments read before their guarded update, all of which
 * never changes: the activation's account, product, license and device, and which license feature
 * the attribute (named by code or by id) is.
 */
export interface MeterTarget {
  accountId: number;
  productId: number;
  licenseId: number;
  deviceId: number;
  code: string;
}

export interface IncrementInput {
  /** The meter attribute's id (decimal) or name. */
  attribute: string;
  activationId: string;
  amount: number;
  /** When given, they must be the activation's (null: the client named no id it could have, which matches nothing). */
  productId?: number | null | undefined;
  accountId?: number | null | undefined;
  requestId?: string | undefined;
  /**
   * Counted at most once per key (see IdempotencyService; needs `idempotency` among the deps). The
   * fingerprint says what the request asked (the adapter computes it from the request as sent).
   */
  idempotency?: { key: string; fingerprint: string } | undefined;
}

/**
 * Changes one meter attribute's uses by one activation: the activation's own uses and the license
 * total move together (see ConsumptionService). The seat is found through the seat service.
 */
export class MeterAttributeIncrements {
  constructor(
    private readonly deps: {
      devices: Pick<DeviceService, 'findActivation'>;
      consumption: ConsumptionService;
      clock: Clock;
      /** Idempotency-Keys of meter attribute increments. */
      idempotency?: IdempotencyService | undefined;
      /** Meter targets by (activation id, attribute), for the increments' shortcut (see consumeThrough). */
      meterTargets: TtlCache<string, MeterTarget>;
    },
  ) {}

  /**
   * Changes one meter attribute's uses by this activation (guarded; see ConsumptionService). A
   * repeated increment of a known activation and attribute makes no read before the update (see
   * consumeThrough); when that update is refused, the full path reads everything and answers.
   */
  async increment(caller: Caller, input: IncrementInput): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    return consumeThrough<MeterTarget, Device, { attribute: MeterAttributeView; replayed: boolean }>(
      {
        cache: this.deps.meterTargets,
        key: `${input.activationId}\u0000${input.attribute}`,
        fits: (known) => Number.isSafeInteger(input.amount) && this.mayIncrement(caller, input, known),
        resolve: async () => {
          const { device, license } = await this.deps.devices.findActivation(caller, input.activationId);
          if (!this.mayIncrement(caller, input, device)) throw new DomainError('not_found', 'Activation not found');
          if (!Number.isSafeInteger(input.amount)) throw new DomainError('invalid_input', 'The amount is too large', { field: 'amount' });
          const feature = findMeterAttribute(license, input.attribute);
          if (!feature) throw new DomainError('feature_not_on_license', `Meter attribute "${input.attribute}" not found`);
          return { target: { accountId: device.accountId, productId: device.productId, licenseId: license.id, deviceId: device.id, code: feature.code }, read: device };
        },
      },
      (target, device) => this.incrementOnce(input, target, device),
    );
  }

  /** The increment, counted once per Idempotency-Key when one is given (the key is the account's). */
  private async incrementOnce(input: IncrementInput, target: MeterTarget, device: Device | undefined): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    const idempotency = this.deps.idempotency;
    if (input.idempotency === undefined || !idempotency) return this.incrementUses(input, target, device, {});
    const { key, fingerprint } = input.idempotency;
    const outcome = await idempotency.run(target.accountId, key, fingerprint, async (attempt) => {
      const { attribute, replayed } = await this.incrementUses(input, target, device, attempt);
      return { status: 200, body: JSON.stringify(attribute), replayed };
    });
    return { attribute: JSON.parse(outcome.body) as MeterAttributeView, replayed: outcome.replayed };
  }

  /** Whether the caller may change this activation's uses, with the account and product the body names. */
  private mayIncrement(caller: Caller, input: IncrementInput, activation: { accountId: number; productId: number }): boolean {
    if (caller.accountId !== null && caller.accountId !== activation.accountId) return false;
    if (input.accountId !== undefined && input.accountId !== activation.accountId) return false;
    if (input.productId !== undefined && input.productId !== activation.productId) return false;
    return true;
  }

  private async incrementUses(input: IncrementInput, target: MeterTarget, device: Device | undefined, attempt: IdempotentAttempt): Promise<{ attribute: MeterAttributeView; replayed: boolean }> {
    const result = await this.deps.consumption.consume({
      accountId: target.accountId,
      license: { licenseId: target.licenseId },
      target: { scope: 'feature', code: target.code },
      seat: { activationId: input.activationId },
      trackDeviceUses: true,
      syncSeat: true,
      device,
      amount: input.amount,
      negatives: 'floor-only',
      event: LedgerEvent.activationUses,
      requestId: input.requestId,
      idempotencyKey: input.idempotency?.key,
      idempotencyResumedSince: attempt.resumedSince,
      writeDeadline: attempt.writeDeadline,
      alsoRaise: [{ type: 'activation.updated', accountId: target.accountId, activationId: input.activationId }],
    });
    const after = result.license.features.find((f) => f.code === target.code)!;
    return { attribute: meterAttributeView(after, target.deviceId, this.deps.clock.now()), replayed: result.replayed };
  }
}
