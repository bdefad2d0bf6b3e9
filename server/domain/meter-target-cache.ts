const TTL_MS = 60_000;
const MAX_ACTIVATIONS = 50_000;

/** What an activation's meter-attribute increments need besides the guarded update: facts that never change. */
export interface MeterTarget {
  accountId: number;
  productId: number;
  licenseId: number;
  deviceId: number;
  /** The license feature the attribute (given by code or by id) names. */
  code: string;
}

/**
 * Remembers, per activation, the facts a meter-attribute increment reads before its update, so that a
 * repeated increment goes straight to the one guarded update (as `add_feature_consumption` does in the
 * License API). An activation's id, device, account, product and license never change, nor does which
 * license feature an attribute code or id names, or whether it is a meter attribute. Everything that
 * can change (the seat still held and not blacklisted, the license enabled and valid, the feature still
 * on the license, limits) is in the update's guard; when the update is refused, the caller forgets the
 * activation and takes the full path, which reads everything and answers the exact error.
 */
export class MeterTargetCache {
  private readonly activations = new Map<string, { facts: Omit<MeterTarget, 'code'>; codes: Map<string, string>; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(activationId: string, attribute: string): MeterTarget | undefined {
    const hit = this.activations.get(activationId);
    if (!hit || hit.expiresAt <= this.now()) return undefined;
    const code = hit.codes.get(attribute);
    return code === undefined ? undefined : { ...hit.facts, code };
  }

  remember(activationId: string, attribute: string, target: MeterTarget): void {
    const { code, ...facts } = target;
    let entry = this.activations.get(activationId);
    if (!entry || entry.expiresAt <= this.now()) {
      if (this.activations.size >= MAX_ACTIVATIONS) this.activations.clear();
      entry = { facts, codes: new Map(), expiresAt: this.now() + TTL_MS };
      this.activations.set(activationId, entry);
    }
    entry.codes.set(attribute, code);
  }

  forget(activationId: string): void {
    this.activations.delete(activationId);
  }
}
