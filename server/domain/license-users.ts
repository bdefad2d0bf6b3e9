import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { newNumericId } from './ids.js';
import { emailKeyOf, licenseUserNamed, MAX_ATTEMPTS } from './license-rules.js';
import { hashPassword, newPassword, verifyPasswordOrNothing } from './passwords.js';
import type { LicenseUserFieldChanges, LicensesPort, LicenseUsersPort } from './ports.js';
import type { License, LicenseUser, LicenseUserRecord } from './types.js';

export interface NewLicenseUserInput {
  email: string;
  /** Omitted: a password is generated (and shown once). */
  password?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  phoneNumber?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** A new user with the password it was given or generated: the only time that password is shown. */
export interface CreatedLicenseUser {
  user: LicenseUserRecord;
  password: string;
}

/** Which user an unassignment names. */
export type LicenseUserRef = { id: number } | { email: string };

/** An assignment's outcome: `newPassword` is the password set by it (given or generated), or null when the user kept its own. */
export interface Assignment {
  user: LicenseUserRecord;
  license: License;
  newPassword: string | null;
}

const notFound = () => new DomainError('not_found', 'License user not found');
const emailTaken = () => new DomainError('license_user_email_taken', 'A license user with this email already exists', { field: 'email' });

/** What a license shows of its user (see LicenseUser). */
export function assignmentOf(user: LicenseUserRecord): LicenseUser {
  return {
    id: user.id,
    email: user.email,
    emailKey: emailKeyOf(user.email),
    firstName: user.firstName,
    lastName: user.lastName,
    phoneNumber: user.phoneNumber,
    isActive: user.isActive,
    isInitialPassword: user.isInitialPassword,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

function normalisedEmail(email: string): string {
  const trimmed = email.trim();
  if (trimmed === '' || !trimmed.includes('@')) throw new DomainError('invalid_input', 'email must be an email address', { field: 'email' });
  return trimmed;
}

/**
 * License users of an account and their assignments to user-based licenses (a license without a
 * key): the Management API creates, changes and removes them and assigns them to licenses within the
 * license's `maxLicenseUsers`; the License API logs them in (`authenticate`) and lets them change
 * their password. Passwords are stored only as scrypt hashes and compared in constant time.
 */
export class LicenseUserService {
  constructor(
    private readonly repo: LicenseUsersPort,
    private readonly licenses: Pick<LicensesPort, 'findById'>,
    private readonly clock: Clock,
  ) {}

  async createUser(accountId: number, input: NewLicenseUserInput): Promise<CreatedLicenseUser> {
    const now = this.clock.now();
    const password = input.password ?? newPassword();
    const user: LicenseUserRecord = {
      id: newNumericId(),
      accountId,
      email: normalisedEmail(input.email),
      passwordHash: await hashPassword(password),
      isInitialPassword: true,
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      phoneNumber: input.phoneNumber ?? '',
      isActive: true,
      metadata: input.metadata ?? {},
      lastLogin: null,
      createdAt: now,
      updatedAt: now,
    };
    const inserted = await this.repo.insert(user);
    if (!inserted) throw emailTaken();
    return { user: inserted, password };
  }

  async getUser(accountId: number, id: number): Promise<LicenseUserRecord> {
    const user = await this.repo.findById(accountId, id);
    if (!user) throw notFound();
    return user;
  }

  async listUsers(accountId: number, filter: { email?: string | undefined }, skip: number, limit: number): Promise<{ items: LicenseUserRecord[]; count: number }> {
    return this.repo.list(accountId, filter, skip, limit);
  }

  /** How many licenses the user is assigned to. */
  async totalLicenses(accountId: number, id: number): Promise<number> {
    return this.repo.licenseCount(accountId, id);
  }

  async updateUser(accountId: number, id: number, changes: LicenseUserFieldChanges): Promise<LicenseUserRecord> {
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as LicenseUserFieldChanges;
    if (defined.email !== undefined) defined.email = normalisedEmail(defined.email);
    const updated = await this.repo.update(accountId, id, defined, this.clock.now());
    if (updated === 'email_taken') throw emailTaken();
    if (!updated) throw notFound();
    return updated;
  }

  /** The vendor sets the user's password: it is an initial password again (the user is expected to change it). */
  async setPassword(accountId: number, id: number, password: string): Promise<LicenseUserRecord> {
    const updated = await this.repo.setPassword(accountId, id, await hashPassword(password), true, this.clock.now());
    if (!updated) throw notFound();
    return updated;
  }

  async deleteUser(accountId: number, id: number): Promise<void> {
    if (!(await this.repo.remove(accountId, id))) throw notFound();
  }

  /**
   * Assigns the user with this email to a user-based license, creating the user when the account has
   * none (with the given password, or a generated one). An existing user keeps its password unless
   * one is given. Assigning a user already on the license changes nothing but the password.
   */
  async assignUser(accountId: number, licenseId: number, input: NewLicenseUserInput): Promise<Assignment> {
    let license = await this.userBasedLicense(accountId, licenseId);
    let user = await this.repo.findByEmail(accountId, normalisedEmail(input.email));
    let newPassword: string | null = null;
    if (!user) {
      const created: { user: LicenseUserRecord; password: string | null } = await this.createUser(accountId, input).catch(async (err: unknown) => {
        // Created meanwhile by a concurrent call: assign that one.
        const raced = err instanceof DomainError && err.code === 'license_user_email_taken' ? await this.repo.findByEmail(accountId, input.email.trim()) : null;
        if (!raced) throw err;
        return { user: raced, password: null };
      });
      user = created.user;
      newPassword = created.password;
    }
    if (newPassword === null && input.password !== undefined) {
      user = await this.setPassword(accountId, user.id, input.password);
      newPassword = input.password;
    }
    const assigned = user;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (license.users.some((u) => u.id === assigned.id)) return { user: assigned, license, newPassword };
      if (license.maxLicenseUsers > 0 && license.users.length >= license.maxLicenseUsers) {
        throw new DomainError('license_user_limit_reached', `The license already has its maximum of ${license.maxLicenseUsers} license users`);
      }
      const now = this.clock.now();
      if (await this.repo.assign(accountId, license.id, assignmentOf(assigned), { usersAsRead: license.users.length, maxLicenseUsers: license.maxLicenseUsers }, now)) {
        return { user: assigned, license: await this.userBasedLicense(accountId, licenseId), newPassword };
      }
      license = await this.userBasedLicense(accountId, licenseId);
    }
    throw new DomainError('concurrent_modification', 'The license changed too often while the user was assigned; retry');
  }

  async unassignUser(accountId: number, licenseId: number, ref: LicenseUserRef): Promise<void> {
    const license = await this.licenses.findById(accountId, licenseId);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    const email = 'email' in ref ? ref.email.trim().toLowerCase() : null;
    const entry = license.users.find((u) => ('id' in ref ? u.id === ref.id : u.email.toLowerCase() === email));
    if (!entry || !(await this.repo.unassign(accountId, licenseId, entry.id, this.clock.now()))) {
      throw new DomainError('not_found', 'License user not found on this license');
    }
  }

  /**
   * The License API's login: `username` is a user assigned to `license`, active, and `password` is
   * its password. A failed login takes as long whatever failed.
   */
  async authenticate(accountId: number, license: License, username: string, password: string | undefined): Promise<boolean> {
    const entry = licenseUserNamed(license, username);
    const user = entry ? await this.repo.findById(accountId, entry.id) : null;
    const ok = await verifyPasswordOrNothing(password ?? '', user?.isActive ? user.passwordHash : null);
    if (!ok || password === undefined || !user) return false;
    await this.repo.recordLogin(accountId, user.id, this.clock.now());
    return true;
  }

  /** The License API's `change_password`: the user proves its current password; the new one is its own (no longer initial). */
  async changePassword(accountId: number, username: string, password: string, newPassword: string): Promise<void> {
    const user = await this.repo.findByEmail(accountId, username.trim());
    if (!(await verifyPasswordOrNothing(password, user?.isActive ? user.passwordHash : null)) || !user) {
      throw new DomainError('license_not_found', 'License user not found or wrong password');
    }
    if (!(await this.repo.setPassword(accountId, user.id, await hashPassword(newPassword), false, this.clock.now()))) throw notFound();
  }

  private async userBasedLicense(accountId: number, licenseId: number): Promise<License> {
    const license = await this.licenses.findById(accountId, licenseId);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    if (license.key !== null) {
      throw new DomainError('invalid_input', 'The license is key-based: users can only be assigned to user-based licenses (created with license_key null)', { field: 'licenseId' });
    }
    return license;
  }
}
