import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../../server/webhooks/sender.js';
import { assertAllowedTarget, isPrivateAddress, type ResolveAll } from '../../server/webhooks/targets.js';
import { REFUSED_ADDRESSES, startReceiver, type Receiver } from './support.js';

/** Public addresses, judged as such (no connection is ever made to them here). */
const PUBLIC_ADDRESSES = ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:93.184.215.14', '64:ff9b::808:808', '2002:808:808::1'];

const answering =
  (...addresses: LookupAddress[]): ResolveAll =>
  async () => addresses;

describe('webhook target addresses', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  it('classifies every non-public form as not reachable and public unicast (plain or embedded) as reachable', () => {
    expect(REFUSED_ADDRESSES.filter((a) => !isPrivateAddress(a.address)).map((a) => a.address)).toEqual([]);
    expect(PUBLIC_ADDRESSES.filter(isPrivateAddress)).toEqual([]);
    for (const bad of ['', 'localhost', '1.2.3', '::ffff:1.2.3.4.5', 'fe80::1%eth0']) expect({ bad, refused: isPrivateAddress(bad) }).toEqual({ bad, refused: true });
  });

  it('refuses at connect time a hostname whose DNS answer is any non-public form', async () => {
    for (const answer of REFUSED_ADDRESSES) {
      const result = await postJson('http://hooks.invalid/hook', '{}', {}, { timeoutMs: 2000, allowPrivateTargets: false, resolveAll: answering(answer) });
      expect({ answer: answer.address, statusCode: result.statusCode, error: result.error }).toEqual({
        answer: answer.address,
        statusCode: null,
        error: 'hooks.invalid resolves to a private address',
      });
    }
    expect(receiver.received).toEqual([]);
  });

  it('a hostname public when the subscription was saved and private when delivering is refused at connect time', async () => {
    const port = new URL(receiver.url).port;
    const url = `http://hooks.invalid:${port}/hook`;
    await expect(assertAllowedTarget(url, false, answering({ address: '93.184.215.14', family: 4 }))).resolves.toBeInstanceOf(URL);
    await expect(assertAllowedTarget(url, false, answering({ address: '::ffff:127.0.0.1', family: 6 }))).rejects.toThrow('url must point to a public unicast address');
    const repointed = answering({ address: '127.0.0.1', family: 4 });
    expect(await postJson(url, '{}', {}, { timeoutMs: 2000, allowPrivateTargets: false, resolveAll: repointed })).toMatchObject({
      statusCode: null,
      error: 'hooks.invalid resolves to a private address',
    });
    expect(receiver.received).toEqual([]);
    // The same answer is delivered to when private targets are allowed: the refusal above was the filter's.
    expect(await postJson(url, '{}', {}, { timeoutMs: 2000, allowPrivateTargets: true, resolveAll: repointed })).toMatchObject({ statusCode: 200, error: null });
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses at connect time an address literal of any non-public form', async () => {
    for (const { address, family } of REFUSED_ADDRESSES) {
      const host = family === 6 ? `[${address}]` : address;
      const result = await postJson(`http://${host}/hook`, '{}', {}, { timeoutMs: 2000, allowPrivateTargets: false });
      expect({ address, result: [result.statusCode, result.error] }).toEqual({ address, result: [null, 'target address is private'] });
    }
  });
});
