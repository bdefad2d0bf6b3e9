/**
 * `npm run db -- --repair`: salvages a damaged data directory. Reads the snapshot and the journals,
 * skipping damaged ranges (it scans forward for the next record whose header and payload checksums
 * are valid), keeps the original files in `<dir>/damaged-<timestamp>/`, and writes what it could
 * read as a new generation (snapshot + empty journal). Dropped records are lost.
 */
import { copyFile, link, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../server.js';
import { Catalog } from './catalog.js';
import {
  DIR_MODE,
  SNAPSHOT,
  SNAPSHOT_TMP,
  applyChange,
  encodeSnapshot,
  fsyncDir,
  journalName,
  makePrivate,
  parseJournalName,
  writeFileAtomically,
} from './datadir.js';
import { acquireLock } from './lock.js';
import { FILE_HEADER_BYTES, checkFileHeader, encodeFileHeader, readRecordsSalvage, type FileKind, type SalvageRead } from './records.js';

export interface RepairFileReport {
  file: string;
  version: 1 | 2;
  /** Records read intact. */
  records: number;
  /** Byte ranges [from, to) that could not be read, and why. */
  dropped: Array<{ from: number; to: number; reason: string }>;
  /** Whether its records were replayed (journals older than the snapshot are not). */
  replayed: boolean;
}

export interface RepairReport {
  dir: string;
  /** Where the original files were moved. */
  damagedDir: string;
  /** Generation of the new snapshot and journal. */
  generation: number;
  files: RepairFileReport[];
  collections: number;
  documents: number;
  /** Records that were read but could not be applied (e.g. an index that conflicts with the salvaged data). */
  notApplied: number;
}

function salvage(buf: Buffer, kind: FileKind): SalvageRead & { version: 1 | 2; gen?: number } {
  const header = checkFileHeader(buf, kind);
  if (header.kind === 'v2') return { version: 2, gen: header.gen, ...readRecordsSalvage(buf, FILE_HEADER_BYTES, 2) };
  if (header.kind === 'v1') return { version: 1, ...readRecordsSalvage(buf, 0, 1) };
  // Damaged header: read it both ways and keep the better one.
  const start = Math.min(FILE_HEADER_BYTES, buf.length);
  const v2 = readRecordsSalvage(buf, start, 2);
  v2.dropped.unshift({ from: 0, to: start, reason: header.reason });
  const v1 = readRecordsSalvage(buf, 0, 1);
  return v2.records.length >= v1.records.length ? { version: 2, ...v2 } : { version: 1, ...v1 };
}

async function preserve(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch {
    await copyFile(src, dst);
  }
}

export async function repairDataDir(dir: string, options: { logger?: Logger } = {}): Promise<RepairReport> {
  const lock = await acquireLock(dir);
  try {
    await makePrivate(dir);
    const names = await readdir(dir);
    const catalog = new Catalog();
    const files: RepairFileReport[] = [];
    let notApplied = 0;
    const apply = (doc: Record<string, unknown>) => {
      try {
        applyChange(catalog, doc);
      } catch {
        notApplied++;
      }
    };
    let snapshotGen: number | undefined;
    let maxGen = 0;
    if (names.includes(SNAPSHOT)) {
      const file = path.join(dir, SNAPSHOT);
      const read = salvage(await readFile(file), 'snapshot');
      let records = 0;
      for (const { doc } of read.records) {
        if (doc.snapshot === 1) snapshotGen = Number(doc.gen);
        else if (doc.end !== 1) apply(doc);
        records++;
      }
      snapshotGen ??= read.gen;
      if (snapshotGen !== undefined) maxGen = Math.max(maxGen, snapshotGen);
      files.push({ file, version: read.version, records, dropped: read.dropped, replayed: true });
    }
    const gens = names
      .map(parseJournalName)
      .filter((g): g is number => g !== undefined)
      .sort((a, b) => a - b);
    for (const gen of gens) {
      maxGen = Math.max(maxGen, gen);
      const file = path.join(dir, journalName(gen));
      const read = salvage(await readFile(file), 'journal');
      const replayed = snapshotGen === undefined || gen >= snapshotGen;
      if (replayed) for (const { doc } of read.records) apply(doc);
      files.push({ file, version: read.version, records: read.records.length, dropped: read.dropped, replayed });
    }

    const generation = maxGen + 1;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const damagedDir = path.join(dir, `damaged-${stamp}`);
    const newSnapshot = `snapshot.repair-${generation}`;
    // 1. The salvaged state, under a name start-up ignores, and the new (empty) journal.
    await writeFileAtomically(dir, `${newSnapshot}.tmp`, newSnapshot, encodeSnapshot(catalog, generation));
    await writeFileAtomically(dir, `${journalName(generation)}.tmp`, journalName(generation), [encodeFileHeader('journal', generation)]);
    // 2. Keep the originals (hard links, so the directory stays startable throughout).
    await mkdir(damagedDir, { mode: DIR_MODE });
    const originals = names.filter((n) => n === SNAPSHOT || n === SNAPSHOT_TMP || parseJournalName(n) !== undefined || /^journal-\d+\.log\.tmp$/.test(n));
    for (const name of originals) await preserve(path.join(dir, name), path.join(damagedDir, name));
    fsyncDir(damagedDir);
    // 3. Swap the new snapshot in, then remove the originals' old names.
    await rename(path.join(dir, newSnapshot), path.join(dir, SNAPSHOT));
    fsyncDir(dir);
    for (const name of originals) if (name !== SNAPSHOT) await rm(path.join(dir, name), { force: true });
    fsyncDir(dir);

    let documents = 0;
    let collections = 0;
    for (const colls of catalog.dbs.values()) {
      for (const coll of colls.values()) {
        collections++;
        documents += coll.size;
      }
    }
    const report: RepairReport = { dir, damagedDir, generation, files, collections, documents, notApplied };
    options.logger?.info?.(formatRepairReport(report));
    return report;
  } finally {
    await lock.release();
  }
}

export function formatRepairReport(report: RepairReport): string {
  const lines = [`embedded-mongo repair of ${report.dir}:`];
  for (const f of report.files) {
    const name = path.basename(f.file);
    const note = f.replayed ? '' : ' (older than the snapshot, not replayed)';
    lines.push(`  ${name} (format v${f.version}): ${f.records} records recovered${note}`);
    if (f.dropped.length === 0) lines.push('    nothing dropped');
    for (const d of f.dropped) lines.push(`    dropped bytes ${d.from}..${d.to} (${d.to - d.from} bytes): ${d.reason}`);
  }
  const dropped = report.files.reduce((n, f) => n + f.dropped.length, 0);
  lines.push(
    `  salvaged ${report.documents} documents in ${report.collections} collections as generation ${report.generation}` +
      (report.notApplied ? `; ${report.notApplied} records could not be applied` : ''),
  );
  lines.push(`  ${dropped} damaged ranges dropped; the records in them are lost`);
  lines.push(`  original files kept in ${report.damagedDir}`);
  return lines.join('\n');
}
