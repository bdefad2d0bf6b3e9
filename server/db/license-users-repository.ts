import { emailKeyOf } from '../domain/license-rules.js';
import { assignmentOf } from '../domain/license-users.js';
import type { LicenseUserFieldChanges, LicenseUsersPort } from '../domain/ports.js';
import type { LicenseUser, LicenseUserRecord } from '../domain/types.js';
import { isDuplicateKey } from './duplicate-keys.js';
import type { Models } from './models.js';

interface LicenseUserDocument extends Omit<LicenseUserRecord, 'id'> {
  _id: number;
  emailKey: string;
}


function toRecord(doc: LicenseUserDocument): LicenseUserRecord {
  return {
    id: doc._id,
    accountId: doc.accountId,
    email: doc.email,
    passwordHash: doc.passwordHash,
    isInitialPassword: doc.isInitialPassword ?? true,
    firstName: doc.firstName ?? '',
    lastName: doc.lastName ?? '',
    phoneNumber: doc.phoneNumber ?? '',
    isActive: doc.isActive ?? true,
    metadata: doc.metadata ?? {},
    lastLogin: doc.lastLogin ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** The fields a license's `users` entry copies from the record (see assignmentOf), as a positional `$set`. */
function assignmentSet(user: LicenseUserRecord): Record<string, unknown> {
  const { id: _id, createdAt: _createdAt, ...copy } = assignmentOf(user);
  return Object.fromEntries(Object.entries(copy).map(([k, v]) => [`users.$.${k}`, v]));
}

/**
 * License user records (`license_users`) and their entries in licenses' `users`. A record change is
 * written first, then copied to every license the user is assigned to (one `updateMany`); a crash in
 * between leaves those copies stale until the user's next change, and never the password (which
 * only the record holds).
 */
export class LicenseUsersRepository implements LicenseUsersPort {
  constructor(private readonly models: Models) {}

  async insert(user: LicenseUserRecord): Promise<LicenseUserRecord | null> {
    const { id, ...rest } = user;
    try {
      await this.models.LicenseUser.create({ _id: id, ...rest, emailKey: emailKeyOf(user.email) });
      return user;
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  async findById(accountId: number, id: number): Promise<LicenseUserRecord | null> {
    const doc = await this.models.LicenseUser.findOne({ _id: id, accountId }).lean<LicenseUserDocument>();
    return doc ? toRecord(doc) : null;
  }

  async findByEmail(accountId: number, email: string): Promise<LicenseUserRecord | null> {
    const doc = await this.models.LicenseUser.findOne({ accountId, emailKey: emailKeyOf(email) }).lean<LicenseUserDocument>();
    return doc ? toRecord(doc) : null;
  }

  async list(accountId: number, filter: { email?: string | undefined }, skip: number, limit: number): Promise<{ items: LicenseUserRecord[]; count: number }> {
    const query = { accountId, ...(filter.email !== undefined ? { emailKey: emailKeyOf(filter.email) } : {}) };
    const [docs, count] = await Promise.all([
      this.models.LicenseUser.find(query).sort({ createdAt: 1, _id: 1 }).skip(skip).limit(limit).lean<LicenseUserDocument[]>(),
      this.models.LicenseUser.countDocuments(query),
    ]);
    return { items: docs.map(toRecord), count };
  }

  async update(accountId: number, id: number, changes: LicenseUserFieldChanges, now: Date): Promise<LicenseUserRecord | null | 'email_taken'> {
    const set: Record<string, unknown> = { ...changes, updatedAt: now };
    if (changes.email !== undefined) set.emailKey = emailKeyOf(changes.email);
    let doc: LicenseUserDocument | null;
    try {
      doc = await this.models.LicenseUser.findOneAndUpdate({ _id: id, accountId }, { $set: set }, { returnDocument: 'after' }).lean<LicenseUserDocument>();
    } catch (err) {
      if (isDuplicateKey(err)) return 'email_taken';
      throw err;
    }
    if (!doc) return null;
    const user = toRecord(doc);
    await this.copyToLicenses(user);
    return user;
  }

  async setPassword(accountId: number, id: number, passwordHash: string, isInitialPassword: boolean, now: Date): Promise<LicenseUserRecord | null> {
    const doc = await this.models.LicenseUser.findOneAndUpdate(
      { _id: id, accountId },
      { $set: { passwordHash, isInitialPassword, updatedAt: now } },
      { returnDocument: 'after' },
    ).lean<LicenseUserDocument>();
    if (!doc) return null;
    const user = toRecord(doc);
    await this.copyToLicenses(user);
    return user;
  }

  async recordLogin(accountId: number, id: number, at: Date): Promise<void> {
    await this.models.LicenseUser.updateOne({ _id: id, accountId }, { $set: { lastLogin: at } });
  }

  async remove(accountId: number, id: number): Promise<boolean> {
    if (!(await this.models.LicenseUser.exists({ _id: id, accountId }))) return false;
    await this.models.License.updateMany({ accountId, 'users.id': id }, { $pull: { users: { id } } });
    const res = await this.models.LicenseUser.deleteOne({ _id: id, accountId });
    return res.deletedCount === 1;
  }

  async licenseCount(accountId: number, id: number): Promise<number> {
    return this.models.License.countDocuments({ accountId, 'users.id': id });
  }

  async assign(accountId: number, licenseId: number, entry: LicenseUser, asRead: { usersAsRead: number; maxLicenseUsers: number }, now: Date): Promise<boolean> {
    const res = await this.models.License.updateOne(
      {
        _id: licenseId,
        accountId,
        key: null,
        // A license stored before the limit existed has no field: it reads as 0 (no limit).
        maxLicenseUsers: asRead.maxLicenseUsers === 0 ? { $in: [0, null] } : asRead.maxLicenseUsers,
        users: { $size: asRead.usersAsRead },
        'users.id': { $ne: entry.id },
      },
      { $push: { users: entry }, $set: { updatedAt: now } },
    );
    return res.modifiedCount === 1;
  }

  async unassign(accountId: number, licenseId: number, userId: number, now: Date): Promise<boolean> {
    const res = await this.models.License.updateOne({ _id: licenseId, accountId, 'users.id': userId }, { $pull: { users: { id: userId } }, $set: { updatedAt: now } });
    return res.modifiedCount === 1;
  }

  /** Copies what a license shows of the user to every license it is assigned to. */
  private async copyToLicenses(user: LicenseUserRecord): Promise<void> {
    await this.models.License.updateMany({ accountId: user.accountId, 'users.id': user.id }, { $set: assignmentSet(user) });
  }
}
