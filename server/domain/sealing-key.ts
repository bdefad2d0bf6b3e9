import type { SealingKeyPort } from './ports.js';
import type { SecretBox } from './secrets.js';

/** The plaintext of the canary: sealed with the key at the first start, opened with it at every start. */
const CANARY_TEXT = 'sealed-secrets-canary:v1';

/** How a sealing key relates to the secrets a database holds. */
export type SealingKeyState =
  /** The database's canary opens with the key. */
  | { kind: 'verified' }
  /** No canary yet, but a secret sealed in the database opens with the key (a database from before the canary). */
  | { kind: 'verified-by-secret' }
  /** Neither a canary nor a sealed secret: the database takes any key. */
  | { kind: 'empty' }
  /** The canary, or (without one) a sealed secret, does not open with the key. */
  | { kind: 'mismatch'; against: 'canary' | 'secret' };

function opens(box: SecretBox, sealed: string, expected?: string): boolean {
  try {
    const plaintext = box.open(sealed);
    return expected === undefined || plaintext === expected;
  } catch {
    return false;
  }
}

/**
 * The start-up check that the sealing key is the one the database's secrets were sealed with. Without
 * it a lost or replaced key only shows once a request needs a secret (a License API signature check,
 * a signing key, a webhook signature), and then on every such request.
 */
export class SealingKeyCheck {
  constructor(private readonly store: SealingKeyPort) {}

  /** Opens the canary with `box`; without a canary, one sealed secret of the database. */
  async inspect(box: SecretBox): Promise<SealingKeyState> {
    const canary = await this.store.findCanary();
    if (canary !== null) return opens(box, canary, CANARY_TEXT) ? { kind: 'verified' } : { kind: 'mismatch', against: 'canary' };
    const secret = await this.store.anySealedSecret();
    if (secret === null) return { kind: 'empty' };
    return opens(box, secret) ? { kind: 'verified-by-secret' } : { kind: 'mismatch', against: 'secret' };
  }

  /**
   * Writes the canary sealed with `box` unless the database has one. True when the canary stored
   * afterwards opens with `box` (false: another process wrote one with another key first).
   */
  async establish(box: SecretBox, now: Date): Promise<boolean> {
    const stored = await this.store.insertCanary(box.seal(CANARY_TEXT), now);
    return opens(box, stored, CANARY_TEXT);
  }
}
