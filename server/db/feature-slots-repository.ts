import type { FeatureSlot, FeatureSlotsPort, SlotHolding } from '../domain/feature-slots.js';
import { isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';

interface FeatureSlotDocument extends FeatureSlot {
  _id: string;
}

const slotId = (s: Pick<FeatureSlot, 'licenseId' | 'featureCode' | 'slot'>) => `${s.licenseId}:${s.featureCode}:${s.slot}`;

function toSlot(doc: FeatureSlotDocument): FeatureSlot {
  const { _id: _ignored, ...slot } = doc;
  return { ...slot, leaseExpiresAt: slot.leaseExpiresAt ?? null, borrowedUntil: slot.borrowedUntil ?? null };
}

/**
 * Floating feature slots, one document each (`_id` names the license, feature and slot number; a
 * unique index keeps a device to one slot of a feature): every change is one guarded write on one
 * document (see domain/feature-slots.ts).
 */
export class FeatureSlotsRepository implements FeatureSlotsPort {
  constructor(private readonly models: Models) {}

  async heldBy(licenseId: number, featureCode: string, deviceId: number): Promise<FeatureSlot | null> {
    const doc = await this.models.FeatureSlot.collection.findOne({ licenseId, featureCode, deviceId } as never);
    return doc ? toSlot(doc as unknown as FeatureSlotDocument) : null;
  }

  async slotsOf(licenseId: number, featureCode: string): Promise<FeatureSlot[]> {
    const docs = await this.models.FeatureSlot.collection.find({ licenseId, featureCode } as never).toArray();
    return (docs as unknown as FeatureSlotDocument[]).map(toSlot);
  }

  async insert(slot: FeatureSlot): Promise<'taken' | 'slot_held' | 'device_holds'> {
    try {
      await this.models.FeatureSlot.collection.insertOne({ _id: slotId(slot), ...slot } as never);
      return 'taken';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return (await this.heldBy(slot.licenseId, slot.featureCode, slot.deviceId)) ? 'device_holds' : 'slot_held';
    }
  }

  async update(current: FeatureSlot, next: SlotHolding, now: Date): Promise<FeatureSlot | 'changed' | 'device_holds'> {
    try {
      const doc = await this.models.FeatureSlot.collection.findOneAndUpdate(
        { _id: slotId(current), deviceId: current.deviceId, leaseExpiresAt: current.leaseExpiresAt } as never,
        { $set: { ...next, updatedAt: now } } as never,
        { returnDocument: 'after' },
      );
      return doc ? toSlot(doc as unknown as FeatureSlotDocument) : 'changed';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return 'device_holds';
    }
  }

  async release(licenseId: number, featureCode: string, deviceId: number): Promise<boolean> {
    return (await this.models.FeatureSlot.collection.deleteOne({ licenseId, featureCode, deviceId } as never)).deletedCount === 1;
  }

  async releaseAll(licenseId: number, deviceId: number): Promise<void> {
    await this.models.FeatureSlot.collection.deleteMany({ licenseId, deviceId } as never);
  }
}
