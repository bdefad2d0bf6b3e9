import { MongoServerError, MongoWriteConcernError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../server/http/error-handler.js';
import { insertManyIgnoringDuplicates } from '../../server/db/duplicate-keys.js';

/** Database errors of a write that is not durable answer 503 (retry), never 500 or an acknowledgement. */
describe('writes that cannot be made durable', () => {
  it('answer 503 service_unavailable with Retry-After: write concern errors, a full disk, a failed journal', () => {
    const notDurable = [
      new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' }, ok: 1 } as never),
      new MongoServerError({ code: 14031, codeName: 'OutOfDiskSpace', errmsg: 'journal write failed with ENOSPC' }),
      new MongoServerError({ code: 1, errmsg: 'journal write failed with EIO on journal-00000001.log' }),
      new MongoServerError({ code: 100, errmsg: 'UnsatisfiableWriteConcern' }),
    ];
    for (const err of notDurable) {
      const api = classifyError(err);
      expect(api.status).toBe(503);
      expect(api.code).toBe('service_unavailable');
      expect(api.headers['Retry-After']).toBe('1');
    }
  });

  it('other server errors stay 500 (a bug, not an outage)', () => {
    expect(classifyError(new MongoServerError({ code: 1, errmsg: 'some internal error' })).status).toBe(500);
    expect(classifyError(new MongoServerError({ code: 2, errmsg: 'BadValue' })).status).toBe(500);
  });

  it('an insert of already-moved entries is fine unless the write was not durable', async () => {
    const duplicates = { writeErrors: [{ index: 0, code: 11000 }] };
    const ok = { insertMany: () => Promise.reject(Object.assign(new Error('E11000'), duplicates, { result: { getWriteConcernError: () => undefined } })) };
    expect([...(await insertManyIgnoringDuplicates(ok, [{ _id: 1 }]))]).toEqual([0]);
    const notDurable = { insertMany: () => Promise.reject(Object.assign(new Error('E11000'), duplicates, { result: { getWriteConcernError: () => ({ code: 64 }) } })) };
    await expect(insertManyIgnoringDuplicates(notDurable, [{ _id: 1 }])).rejects.toThrow('E11000');
  });
});
