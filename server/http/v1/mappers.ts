import type { components, operations } from '../../../generated/schema.js';
import type { LicenseFeatureSettings, MeterSettings } from '../../domain/license-features.js';
import { isBorrowed, isSeatLive } from '../../domain/seat-rules.js';
import { currentTotal } from '../../domain/meter.js';
import { parseConsumptionPeriod, type ConsumptionPeriod } from '../../domain/periods.js';
import type { Device, License, LicenseFeature, Product, ProductFeature } from '../../domain/types.js';
import { usabilityOf } from '../../domain/license-rules.js';

/** Translation between the Management API v1 wire format and the domain. */

type Schemas = components['schemas'];
/** The JSON request body of an operation. */
export type Body<Op extends keyof operations> = operations[Op] extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
export type V1Product = Schemas['V1Product'];
export type V1ProductFeature = Schemas['V1ProductFeature'];
export type V1License = Schemas['V1License'];
export type V1LicenseFeature = Schemas['V1LicenseFeature'];
export type V1Device = Schemas['V1Device'];
export type V1LicenseFeatureSettings = Schemas['V1LicenseFeatureSettings'];

const iso = (d: Date): string => d.toISOString();
const isoOrNull = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * A wire date (`YYYY-MM-DD`, a last valid day) as the domain's end-of-validity instant: the end of
 * that day in UTC, so the whole day is included. Formatting the instant's date gives the day back.
 */
export function endOfDay(date: string | null | undefined): Date | null | undefined {
  if (date === undefined || date === null) return date;
  return new Date(`${date}T23:59:59.999Z`);
}

export function dayOf(d: Date | null): string | null {
  return d ? d.toISOString().slice(0, 10) : null;
}

/** `consumption_period` from the wire (the spec has already checked the value; `annualy` is `annually`). */
export function periodFromWire(value: string | null | undefined): ConsumptionPeriod | null | undefined {
  if (value === undefined || value === null) return value;
  return parseConsumptionPeriod(value);
}

export function toV1Product(p: Product): V1Product {
  return { id: p.id, product_name: p.name, short_code: p.shortCode, allow_trial: p.allowTrial, trial_days: p.trialDays, created_at: iso(p.createdAt), updated_at: iso(p.updatedAt) };
}

export function toV1ProductFeature(productId: number, f: ProductFeature): V1ProductFeature {
  return {
    id: f.id,
    product: productId,
    created_at: iso(f.createdAt),
    updated_at: iso(f.updatedAt),
    name: f.name,
    code: f.code,
    is_deleted: false,
    feature_type: f.featureType,
    max_consumption: f.maxConsumption,
    allow_overages: f.allowOverages,
    max_overages: f.maxOverages,
    reset_consumption: f.resetConsumption,
    consumption_period: f.consumptionPeriod,
    metadata: f.metadata,
  };
}

/** The product feature behind a license feature (or what the license remembers of it, when gone from the product). */
function productFeatureOf(license: License, product: Product | null, f: LicenseFeature): V1ProductFeature {
  const pf = product?.features.find((p) => p.id === f.productFeatureId);
  if (pf) return toV1ProductFeature(license.productId, pf);
  return {
    id: f.productFeatureId,
    product: license.productId,
    created_at: iso(license.createdAt),
    updated_at: iso(license.updatedAt),
    name: f.name,
    code: f.code,
    is_deleted: true,
    feature_type: f.featureType,
    max_consumption: 0,
    allow_overages: false,
    max_overages: 0,
    reset_consumption: false,
    consumption_period: null,
    metadata: {},
  };
}

function toV1LicenseFeature(license: License, product: Product | null, f: LicenseFeature, now: Date): V1LicenseFeature {
  return {
    id: f.id,
    product_feature: productFeatureOf(license, product, f),
    max_consumption: f.max,
    total_consumptions: currentTotal(f, now),
    expiry_date: dayOf(f.expiryDate),
    allow_overages: f.allowOverages,
    max_overages: f.maxOverages,
    reset_consumption: f.reset,
    consumption_period: f.period,
    consumption_alert_thresholds: f.alertThresholds,
    allow_unlimited_consumptions: f.unlimited,
    allow_negative_consumptions: f.allowNegative,
    metadata: f.metadata,
    is_floating: f.isFloating,
    is_floating_cloud: f.isFloatingCloud,
    floating_users: f.floatingUsers,
    floating_timeout: f.floatingTimeout,
  };
}

function statusOf(license: License, now: Date): V1License['status'] {
  const usability = usabilityOf(license, now);
  if (usability !== 'usable') return usability;
  return license.timeActivated !== null ? 'active' : 'inactive';
}

/** What a license user shows for what this server does not model (V1LicenseUser says why each value is what it is). */
const UNMODELLED_LICENSE_USER_FIELDS = {
  is_admin: false,
  is_staff: false,
  subscribed_to_email: false,
  acquired_consent: null,
  initial_password: null,
} as const;

/** The full license object (every license endpoint answers with it). */
export function toV1License(license: License, product: Product | null, now: Date, floatingInUse: number): V1License {
  const c = license.consumption;
  return {
    id: license.id,
    status: statusOf(license, now),
    floating_in_use_devices: floatingInUse,
    customer: null,
    product_features: license.features.map((f) => toV1LicenseFeature(license, product, f, now)),
    product_custom_fields: [],
    license_users: license.users.map((u) => ({
      id: u.id,
      email: u.email,
      true_email: u.email,
      first_name: u.firstName,
      last_name: u.lastName,
      phone_number: u.phoneNumber ?? '',
      is_active: u.isActive,
      is_manager: false,
      ...UNMODELLED_LICENSE_USER_FIELDS,
      is_initial_password: u.isInitialPassword ?? true,
      last_login: null,
      created_at: iso(u.createdAt),
      updated_at: iso(u.updatedAt),
    })),
    order_store_id: null,
    active_up_to_date_devices: license.timesActivated,
    total_active_devices: license.timesActivated,
    product: { id: license.productId, product_name: product?.name ?? license.productCode },
    created_at: iso(license.createdAt),
    updated_at: iso(license.updatedAt),
    license_key: license.key,
    active: license.timeActivated !== null,
    enabled: license.enabled,
    time_activated: isoOrNull(license.timeActivated),
    time_disabled: isoOrNull(license.timeDisabled),
    max_activations: license.maxActivations,
    times_activated: license.timesActivated,
    valid_duration: null,
    validity_period: dayOf(license.validUntil),
    license_type: license.type,
    enable_maintenance_period: false,
    maintenance_duration: null,
    maintenance_period: null,
    is_trial: license.isTrial,
    max_consumptions: c.max,
    total_consumptions: currentTotal(c, now),
    allow_unlimited_consumptions: c.unlimited,
    allow_negative_consumptions: c.allowNegative,
    subscription_id: null,
    last_check: isoOrNull(license.lastCheck),
    prevent_vm: license.preventVm,
    allow_overages: c.allowOverages,
    max_overages: c.maxOverages,
    reset_consumption: c.reset,
    consumption_period: c.period,
    consumption_alert_thresholds: c.alertThresholds,
    trial_days: 0,
    is_floating: license.isFloating,
    is_floating_cloud: license.isFloatingCloud,
    floating_users: license.floatingUsers,
    note: null,
    max_license_users: license.maxLicenseUsers,
    transfer_count: 0,
    floating_timeout: license.floatingTimeout,
    can_borrow: license.canBorrow,
    max_borrow_time: license.maxBorrowTime,
    max_transfers: 0,
    is_air_gapped: false,
    is_bundle: false,
    metadata: license.metadata,
    order: null,
    order_item: null,
    disabled_user: null,
    last_activation_device: license.lastActivatedDeviceId,
  };
}

/** A device as the Management API lists it; `floatingLicense`: its license is floating cloud. */
export function toV1Device(d: Device, now: Date, floatingLicense: boolean): V1Device {
  return {
    id: d.id,
    license: d.licenseId,
    product: d.productId,
    hardware_id: d.hardwareId,
    active: d.active,
    blacklisted: d.blacklisted,
    os: d.os,
    os_version: d.osVersion,
    hostname: d.hostname,
    vm_name: d.vmName,
    ip: d.ipAddress,
    app_ver: d.appVersion,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    last_check: isoOrNull(d.lastSyncedAt),
    floating_in_use: floatingLicense && isSeatLive(d, now),
    lease_expires_at: isoOrNull(d.leaseExpiresAt),
    borrowed_until: isBorrowed(d, now) ? isoOrNull(d.borrowedUntil) : null,
    metadata: Object.fromEntries(d.metadata.map((m) => [m.key, m.value])),
  };
}

/** License-level consumption settings from a create or update body. */
export function licenseMeterFromWire(body: {
  max_consumptions?: number | undefined;
  allow_unlimited_consumptions?: boolean | undefined;
  allow_negative_consumptions?: boolean | undefined;
  allow_overages?: boolean | undefined;
  max_overages?: number | undefined;
  reset_consumption?: boolean | undefined;
  consumption_period?: string | null | undefined;
  consumption_alert_thresholds?: number[] | undefined;
}): Omit<MeterSettings, 'total'> | undefined {
  const settings = {
    max: body.max_consumptions,
    unlimited: body.allow_unlimited_consumptions,
    allowNegative: body.allow_negative_consumptions,
    allowOverages: body.allow_overages,
    maxOverages: body.max_overages,
    reset: body.reset_consumption,
    period: periodFromWire(body.consumption_period),
    alertThresholds: body.consumption_alert_thresholds,
  };
  return Object.values(settings).some((v) => v !== undefined) ? settings : undefined;
}

/** One `product_features` entry as domain feature settings. */
export function featureSettingsFromWire(e: V1LicenseFeatureSettings): LicenseFeatureSettings {
  return {
    code: e.product_feature,
    max: e.max_consumption,
    total: e.total_consumptions,
    expiryDate: endOfDay(e.expiry_date),
    allowOverages: e.allow_overages,
    maxOverages: e.max_overages,
    reset: e.reset_consumption,
    period: periodFromWire(e.consumption_period),
    alertThresholds: e.consumption_alert_thresholds,
    unlimited: e.allow_unlimited_consumptions,
    allowNegative: e.allow_negative_consumptions,
    metadata: e.metadata,
    isFloating: e.is_floating,
    isFloatingCloud: e.is_floating_cloud,
    floatingUsers: e.floating_users,
    floatingTimeout: e.floating_timeout,
  };
}

/** The license settings that creating and changing a license share, from the wire's field names. */
export function licenseSettingsFromWire(body: Body<'createV1License'> | Body<'updateV1License'>) {
  return {
    maxActivations: body.max_activations,
    enabled: body.enabled,
    isTrial: body.is_trial,
    validUntil: endOfDay(body.validity_period),
    consumption: licenseMeterFromWire(body),
    metadata: body.metadata,
    isFloating: body.is_floating,
    isFloatingCloud: body.is_floating_cloud,
    floatingUsers: body.floating_users,
    floatingTimeout: body.floating_timeout,
    canBorrow: body.can_borrow,
    maxBorrowTime: body.max_borrow_time,
    preventVm: body.prevent_vm,
    maxLicenseUsers: body.max_license_users,
  };
}
