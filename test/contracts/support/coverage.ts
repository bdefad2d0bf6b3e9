/**
 * Which operations of the bundled spec the pacts exercise. An interaction belongs to the operation
 * whose method matches and whose path template (`/api/v1/licenses/{id}`) matches its path (a literal
 * segment beats a parameter); success = 2xx, error = 4xx/5xx documented for that operation.
 */
import { readFileSync } from 'node:fs';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface SpecOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  /** Response keys as in the spec: `200`, `4XX`, `default`, ... */
  responses: string[];
}

export interface PactInteraction {
  description: string;
  method: string;
  path: string;
  status: number;
  providerStates: string[];
  source: string;
}

interface OpenApiLike {
  paths?: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> } | unknown>>;
}

interface PactFileLike {
  interactions?: Array<{
    description?: string;
    type?: string;
    providerStates?: Array<{ name?: string }>;
    request?: { method?: string; path?: string };
    response?: { status?: number };
  }>;
}

export function operationsOf(spec: OpenApiLike): SpecOperation[] {
  const operations: SpecOperation[] = [];
  for (const [pathTemplate, item] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, { operationId?: string; responses?: Record<string, unknown> } | undefined>)[method];
      if (!op) continue;
      operations.push({ operationId: op.operationId ?? `${method.toUpperCase()} ${pathTemplate}`, method: method.toUpperCase(), pathTemplate, responses: Object.keys(op.responses ?? {}) });
    }
  }
  return operations;
}

export function interactionsOf(pact: PactFileLike, source: string): PactInteraction[] {
  return (pact.interactions ?? [])
    .filter((i) => i.type === undefined || i.type === 'Synchronous/HTTP')
    .map((i) => ({
      description: i.description ?? '(no description)',
      method: (i.request?.method ?? 'GET').toUpperCase(),
      path: i.request?.path ?? '/',
      status: i.response?.status ?? 200,
      providerStates: (i.providerStates ?? []).map((s) => s.name ?? ''),
      source,
    }));
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function templateRegex(template: string): RegExp {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`);
}

const paramCount = (template: string) => (template.match(/\{[^}]+\}/g) ?? []).length;

/** The operation an interaction exercises, or undefined. */
export function operationFor(interaction: PactInteraction, operations: SpecOperation[]): SpecOperation | undefined {
  return operations
    .filter((op) => op.method === interaction.method && templateRegex(op.pathTemplate).test(interaction.path))
    .sort((a, b) => paramCount(a.pathTemplate) - paramCount(b.pathTemplate))[0];
}

export function isDocumentedStatus(op: SpecOperation, status: number): boolean {
  const code = String(status);
  return op.responses.includes(code) || op.responses.includes(`${code[0]}XX`) || op.responses.includes('default');
}

export interface CoverageReport {
  /** Operations without any interaction. */
  missing: string[];
  /** Operations without a 2xx interaction. */
  withoutSuccess: string[];
  /** Operations without an interaction answering a documented 4xx/5xx. */
  withoutError: string[];
  /** Interactions no operation of the spec matches (stale, or a path typo). */
  unmatched: string[];
  /** Interactions whose status the operation does not document. */
  undocumentedStatus: string[];
  /** Interactions without exactly one provider state (each state resets the database). */
  badProviderStates: string[];
  /** Provider states the provider has no handler for. */
  unknownStates: string[];
}

export function coverage(operations: SpecOperation[], interactions: PactInteraction[], knownStates: Set<string>): CoverageReport {
  const byOperation = new Map<string, PactInteraction[]>(operations.map((op) => [op.operationId, []]));
  const report: CoverageReport = { missing: [], withoutSuccess: [], withoutError: [], unmatched: [], undocumentedStatus: [], badProviderStates: [], unknownStates: [] };
  for (const interaction of interactions) {
    const label = `${interaction.source}: "${interaction.description}" (${interaction.method} ${interaction.path} → ${interaction.status})`;
    if (interaction.providerStates.length !== 1) report.badProviderStates.push(label);
    for (const state of interaction.providerStates) if (!knownStates.has(state)) report.unknownStates.push(`${label}: "${state}"`);
    const op = operationFor(interaction, operations);
    if (!op) {
      report.unmatched.push(label);
      continue;
    }
    if (!isDocumentedStatus(op, interaction.status)) report.undocumentedStatus.push(`${label}: ${op.operationId} documents ${op.responses.join(', ')}`);
    byOperation.get(op.operationId)?.push(interaction);
  }
  for (const op of operations) {
    const found = byOperation.get(op.operationId) ?? [];
    const name = `${op.operationId} (${op.method} ${op.pathTemplate})`;
    if (found.length === 0) report.missing.push(name);
    if (!found.some((i) => i.status >= 200 && i.status < 300)) report.withoutSuccess.push(name);
    if (!found.some((i) => i.status >= 400 && isDocumentedStatus(op, i.status))) report.withoutError.push(name);
  }
  return report;
}
