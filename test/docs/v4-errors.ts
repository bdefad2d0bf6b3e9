import { loadBundledSpec } from './spec.js';

/** The `code` enum of the License API v4 error body in the bundled spec. */
export function v4ErrorCodes(): string[] {
  const schemas = (loadBundledSpec().components as { schemas: Record<string, { properties: { code: { enum: string[] } } }> }).schemas;
  return schemas.V4Error!.properties.code.enum;
}
