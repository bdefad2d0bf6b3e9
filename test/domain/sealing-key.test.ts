/**
 * The start-up check of the sealing key, on an in-memory port: the canary decides when there is one;
 * without it, one sealed secret of the database; with neither, any key is taken. `establish` keeps a
 * canary written first by another process.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SealingKeyPort } from '../../server/domain/ports.js';
import { SealingKeyCheck } from '../../server/domain/sealing-key.js';
import { SecretBox } from '../../server/domain/secrets.js';

const box = () => new SecretBox(randomBytes(32).toString('base64'));

function memoryPort(secret: string | null = null): SealingKeyPort & { canary: string | null } {
  return {
    canary: null,
    async findCanary() {
      return this.canary;
    },
    async insertCanary(sealed: string) {
      this.canary ??= sealed;
      return this.canary;
    },
    async anySealedSecret() {
      return secret;
    },
  };
}

describe('SealingKeyCheck', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('takes any key on a database holding nothing sealed, then only that key', async () => {
    const port = memoryPort();
    const check = new SealingKeyCheck(port);
    const key = box();
    expect(await check.inspect(key)).toEqual({ kind: 'empty' });
    expect(await check.establish(key, now)).toBe(true);
    expect(port.canary).toMatch(/^v1\./);
    expect(await check.inspect(key)).toEqual({ kind: 'verified' });
    expect(await check.inspect(box())).toEqual({ kind: 'mismatch', against: 'canary' });
  });

  it('without a canary, checks the key against a sealed secret of the database', async () => {
    const key = box();
    const check = new SealingKeyCheck(memoryPort(key.seal('shared key')));
    expect(await check.inspect(key)).toEqual({ kind: 'verified-by-secret' });
    expect(await check.inspect(box())).toEqual({ kind: 'mismatch', against: 'secret' });
  });

  it('a canary that opens but holds another text, or is malformed, is a mismatch', async () => {
    const key = box();
    const port = memoryPort();
    const check = new SealingKeyCheck(port);
    port.canary = key.seal('something else');
    expect(await check.inspect(key)).toEqual({ kind: 'mismatch', against: 'canary' });
    port.canary = 'not sealed';
    expect(await check.inspect(key)).toEqual({ kind: 'mismatch', against: 'canary' });
  });

  it('establish reports false when another key wrote the canary first, and leaves it', async () => {
    const port = memoryPort();
    const first = box();
    const check = new SealingKeyCheck(port);
    expect(await check.establish(first, now)).toBe(true);
    const stored = port.canary;
    expect(await check.establish(box(), now)).toBe(false);
    expect(port.canary).toBe(stored);
  });
});
