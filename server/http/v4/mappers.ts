import type { components } from '../../../generated/schema.js';
import type { MeterState } from '../../domain/meter.js';
import type { DeviceDetails, LicenseLocator } from '../../domain/ports.js';
import { ApiError } from '../api-error.js';
import { LedgerEvent, type Device, type License, type LicenseFeature, type Product } from '../../domain/types.js';
import { isBorrowed } from '../../domain/seat-rules.js';
import { isExpired, licenseUserNamed } from '../../domain/license-rules.js';
import type { ProductDetails } from '../../domain/products.js';

type Schemas = components['schemas'];
export type V4AddConsumptionResponse = Schemas['V4AddConsumptionResponse'];
export type V4FeatureConsumption = Schemas['V4FeatureConsumption'];
export type V4License = Schemas['V4License'];
export type V4LicenseFeature = Schemas['V4LicenseFeature'];
/** The license object without its two signatures (license.ts signs this and adds them). */
export type V4LicenseUnsigned = Omit<V4License, 'license_signature' | 'license_signature_v2'>;

/**
 * The ledger event a consumption request's `event` list records: an offline sync when it names one,
 * else a consumption. A list naming both kinds is refused (V4ConsumptionEvents), with the message
 * the schema's former `not`/`contains` gave.
 */
export function ledgerEventOf(event: Schemas['V4AddConsumptionRequest']['event']): LedgerEvent {
  const offline = event?.includes('offline_floating_consumptions_sync') ?? false;
  if (offline && event!.includes('consumption_add')) throw new ApiError(400, 'validation_error', '/body/event must NOT be valid');
  return offline ? LedgerEvent.offlineConsumption : LedgerEvent.consumption;
}

/** The policy and state fields every License API meter shows (`max_consumptions` plural, as the SDKs parse it). */
function meterFields(meter: MeterState) {
  return {
    max_consumptions: meter.max,
    total_consumptions: meter.total,
    allow_unlimited_consumptions: meter.unlimited,
    allow_negative_consumptions: meter.allowNegative,
    allow_overages: meter.allowOverages,
    max_overages: meter.maxOverages,
    reset_consumption: meter.reset,
    consumption_period: meter.period,
  };
}

export function licenseConsumptionView(licenseId: number, meter: MeterState): V4AddConsumptionResponse {
  return { id: licenseId, ...meterFields(meter) };
}

/** The floating settings of a feature, sent only for floating or floating cloud features (as the vendor's add_feature_consumption page says). */
function floatingFeatureFields(f: LicenseFeature) {
  return f.isFloating || f.isFloatingCloud ? { floating_timeout: f.floatingTimeout, floating_users: f.floatingUsers } : {};
}

export function featureConsumptionView(license: Pick<License, 'id' | 'accountId'>, feature: LicenseFeature): V4FeatureConsumption {
  return {
    id: feature.id,
    code: feature.code,
    name: feature.name,
    ...meterFields(feature),
    license_id: license.id,
    company: { id: license.accountId },
    is_floating: feature.isFloating,
    is_floating_cloud: feature.isFloatingCloud,
    ...floatingFeatureFields(feature),
  };
}

/** A license feature as a device sees it (with its meter as of now: see meterAsOf). */
export function licenseFeatureView(f: LicenseFeature): V4LicenseFeature {
  return {
    id: f.id,
    code: f.code,
    name: f.name,
    feature_type: f.featureType,
    expiry_date: f.expiryDate ? f.expiryDate.toISOString() : null,
    metadata: f.metadata,
    max_consumption: f.max,
    total_consumptions: f.total,
    allow_unlimited_consumptions: f.unlimited,
    allow_negative_consumptions: f.allowNegative,
    allow_overages: f.allowOverages,
    max_overages: f.maxOverages,
    reset_consumption: f.reset,
    consumption_period: f.period,
    is_floating: f.isFloating,
    is_floating_cloud: f.isFloatingCloud,
    floating_users: f.floatingUsers,
    floating_timeout: f.floatingTimeout,
  };
}

export interface LicenseViewContext {
  /** The license with its meters as of now. */
  license: License;
  product: Pick<Product, 'id' | 'name' | 'shortCode'>;
  hardwareId: string;
  /** The calling device (its seat: borrow state). */
  device: Pick<Device, 'id' | 'borrowedUntil'>;
  /** Live seats of the license (floating-cloud licenses; 0 on others). */
  floatingInUse: number;
  /** The license user the request named (user-based licenses). */
  username?: string | undefined;
  now: Date;
}

/** What a license shows for concepts this server does not model (V4License says why each value is neutral). */
const UNMODELLED_LICENSE_FIELDS = {
  order_store_id: null,
  allow_grace_period: false,
  grace_period: 0,
  enable_maintenance_period: false,
  maintenance_period: null,
  start_date: null,
  allow_unlimited_activations: false,
  allow_offline_activation: false,
  transfer_count: 0,
  max_transfers: 0,
  is_air_gapped: false,
  is_hardware_key_auth: false,
  custom_fields: [],
} as const satisfies Partial<V4License>;

/** A customer without details (this server keeps no customers). */
function noCustomer(): V4License['customer'] {
  const blank = { email: '', company_name: '', reference: '', phone: '', first_name: '', last_name: '', city: '', postcode: '', state: '', country: '', address: '' };
  return { ...blank, customer_account: null, metadata: {} };
}

/** The product version fields, empty: this server keeps no product versions. */
const NO_VERSION = {
  version: '',
  installation_file: '',
  release_date: '',
  hash_md5: '',
  requires_version: '',
  environment: '',
  eula_link: '',
  release_notes_link: '',
  size: '',
  channel: '',
} as const satisfies Partial<V4License>;

/** The license user a user-based request named, as the vendor's check schema shows it (activations are the license's). */
function licenseUserView(license: License, username: string): Pick<V4License, 'user'> {
  const user = licenseUserNamed(license, username);
  if (!user) return {};
  return {
    user: {
      id: user.id,
      email: user.email,
      first_name: user.firstName,
      last_name: user.lastName,
      phone_number: user.phoneNumber ?? '',
      is_initial_password: user.isInitialPassword ?? true,
      max_activations: license.maxActivations,
      allow_unlimited_activations: false,
      total_activations: license.timesActivated,
    },
  };
}

/** The license as a client device sees it (activate_license and check_license), without its signatures. */
export function licenseView(ctx: LicenseViewContext): V4LicenseUnsigned {
  const { license, product } = ctx;
  const active = license.timeActivated !== null || license.timesActivated > 0;
  return {
    id: license.id,
    license_key: license.key,
    ...(ctx.username !== undefined ? { username: ctx.username, ...licenseUserView(license, ctx.username) } : {}),
    license_type: license.type,
    license_active: active,
    active,
    license_enabled: license.enabled,
    is_trial: license.isTrial,
    is_expired: isExpired(license, ctx.now),
    validity_period: license.validUntil ? license.validUntil.toISOString() : null,
    max_activations: license.maxActivations,
    times_activated: license.timesActivated,
    ...meterFields(license.consumption),
    is_floating: license.isFloating,
    is_floating_cloud: license.isFloatingCloud,
    floating_users: license.floatingUsers,
    floating_timeout: license.floatingTimeout,
    floating_in_use_devices: ctx.floatingInUse,
    is_borrowed: isBorrowed(ctx.device, ctx.now),
    borrowed_until: ctx.device.borrowedUntil && isBorrowed(ctx.device, ctx.now) ? ctx.device.borrowedUntil.toISOString() : null,
    can_borrow: license.canBorrow,
    max_borrow_time: license.maxBorrowTime,
    prevent_vm: license.preventVm,
    metadata: license.metadata,
    product_features: license.features.map(licenseFeatureView),
    product_details: {
      product_id: product.id,
      product_name: product.name,
      short_code: product.shortCode,
      authorization_method: license.key === null ? 'user' : 'license-key',
    },
    device_id: ctx.device.id,
    hardware_id: ctx.hardwareId,
    ...UNMODELLED_LICENSE_FIELDS,
    customer: noCustomer(),
    company: { id: license.accountId },
    ...NO_VERSION,
  };
}

/** A product as `product_details` answers it; the fields the server keeps per license answer neutral values (see V4Product). */
export function productView(product: ProductDetails): Schemas['V4Product'] {
  return {
    product_id: product.id,
    product_name: product.name,
    short_code: product.shortCode,
    authorization_method: 'license-key',
    allow_trial: product.allowTrial,
    trial_days: product.trialDays,
    floating_timeout: 0,
    allow_overages: false,
    max_overages: 0,
    prevent_vm: false,
    metadata: {},
  };
}

/** A trial license as `trial_key` answers it (vendor fields; those the server does not model answer neutral values, see V4TrialLicense). */
export function trialLicenseView(license: License, trialDays: number): Schemas['V4TrialLicense'] {
  return {
    id: license.id,
    license_key: license.key ?? '',
    order_id: 0,
    product_id: license.productId,
    license_type: license.type,
    is_trial: true,
    active: license.timeActivated !== null || license.timesActivated > 0,
    enabled: license.enabled,
    max_activations: license.maxActivations,
    times_activated: license.timesActivated,
    max_transfers: 0,
    trial_days: trialDays,
    validity_period: license.validUntil ? license.validUntil.toISOString() : null,
    enable_maintenance_period: false,
    maintenance_duration: null,
    prevent_vm: license.preventVm,
    is_hardware_key_auth: false,
    metadata: license.metadata,
    created_at: license.createdAt.getTime(),
    updated_at: license.updatedAt.getTime(),
  };
}

/** The identifiers License API requests share (body or query). */
export interface LicenseIdentifiers {
  product: string;
  license_key?: string | undefined;
  username?: string | undefined;
  license_id?: number | string | undefined;
}

/** Which license a request names: by key (key-based products) or license user (user-based ones). */
export function licenseLocatorOf(ids: LicenseIdentifiers): LicenseLocator {
  if (ids.license_key !== undefined && ids.username !== undefined) {
    throw new ApiError(400, 'validation_error', 'Send either license_key or username, not both');
  }
  if (ids.license_key !== undefined) return { productCode: ids.product, key: ids.license_key };
  if (ids.username !== undefined) return { productCode: ids.product, username: ids.username };
  throw new ApiError(400, 'missing_parameters', 'Missing parameters: license_key or username');
}

/**
 * Which license an activation names: as licenseLocatorOf, and a `username` needs its `password`
 * (neither key nor user, or a user without password: `missing_parameters`; a key with a user or
 * password: `validation_error`).
 */
export function activationLocatorOf(body: LicenseIdentifiers & { password?: string | undefined }): LicenseLocator {
  if (body.license_key !== undefined && (body.username !== undefined || body.password !== undefined)) {
    throw new ApiError(400, 'validation_error', 'Send either license_key or username and password, not both');
  }
  const locator = licenseLocatorOf(body);
  if (body.username !== undefined && body.password === undefined) throw new ApiError(400, 'missing_parameters', 'Missing parameters: password');
  return locator;
}

/** The optional `license_id` (a number or its digits) as a number. */
export function licenseIdOf(ids: LicenseIdentifiers): number | undefined {
  if (ids.license_id === undefined) return undefined;
  const id = typeof ids.license_id === 'number' ? ids.license_id : Number(ids.license_id);
  if (!Number.isSafeInteger(id) || id < 1) throw new ApiError(400, 'validation_error', 'license_id must be a license id');
  return id;
}

/** `license_key` or `username`: what the license signature and the response name the license by. */
export function identityOf(ids: LicenseIdentifiers): string {
  return ids.license_key ?? ids.username ?? '';
}

/** The machine details `activate_license` reports, as the domain keeps them (absent fields: not given). */
export function deviceDetailsOf(body: Schemas['V4ActivateLicenseRequest']): DeviceDetails {
  const hostname = body.hostname ?? body.os_hostname;
  return {
    ...(body.os !== undefined ? { os: body.os } : {}),
    ...(body.os_ver !== undefined ? { osVersion: body.os_ver } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(body.vm_info !== undefined ? { vmName: body.vm_info } : {}),
    ...(body.ip !== undefined ? { ipAddress: body.ip } : {}),
    ...(body.app_ver !== undefined ? { appVersion: body.app_ver } : {}),
    ...(body.variables !== undefined ? { metadata: Object.entries(body.variables).map(([key, value]) => ({ key, value })) } : {}),
  };
}

/**
 * The end of a borrow as the request gives it (V4BorrowedUntil): an ISO 8601 timestamp whose missing
 * offset means UTC, a date alone its midnight UTC; null for "as long as allowed".
 */
export function borrowedUntilOf(wire: string | null): Date | null {
  if (wire === null) return null;
  let text = wire.replace(' ', 'T');
  if (!text.includes('T')) text += 'T00:00:00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(text)) text += 'Z';
  const at = new Date(text);
  const [year, month, day] = wire.slice(0, 10).split('-').map(Number);
  if (Number.isNaN(at.getTime()) || month! < 1 || month! > 12 || day! < 1 || day! > 31 || year! < 1) {
    throw new ApiError(400, 'validation_error', `borrowed_until is not a valid timestamp: ${JSON.stringify(wire.slice(0, 40))}`);
  }
  return at;
}
