/**
 * The coordinator's decision log: one JSON line per step of a two-phase commit. A decision is on
 * disk (fdatasync) before any site hears it, so `recover` can finish what a crashed coordinator
 * left prepared. Appends that arrive together share one write and one sync (group commit): under
 * many concurrent transactions the log costs one sync per batch, not per transaction.
 *
 * Each coordinator process appends to a file of its own in `<sitesDir>/.ddbkit/<design>.txlog.d/`
 * (named after its pid), and no file is ever rewritten while its owner may still append to it:
 * recovery in another process reads every file and deletes only files whose owner is gone and
 * whose transactions are all settled. (A single shared file compacted by rename would lose the
 * appends of a coordinator still holding the old file open.) A process starts a new file of its
 * own once the current one passes 4 MB, and removes its older files when they hold nothing open.
 */
import { type FileHandle, mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../util/process.js';

export type LogState = 'preparing' | 'commit' | 'abort' | 'done';

export interface LogRecord {
  gid: string;
  state: LogState;
  /** Sites that took part (preparing). */
  participants?: string[];
  /**
   * The participant without two-phase commit, committed last (preparing): when the log holds no
   * decision, whether it committed is read from its `ddbkit_decisions` table.
   */
  lastResource?: string;
  /** The coordinator process (preparing): recovery leaves a running coordinator's transactions alone. */
  pid?: number;
  at: string;
}

interface Pending {
  line: string;
  durable: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const ROTATE_BYTES = 4 * 1024 * 1024;
/** A state that ends a transaction's story: nothing left to recover. */
const SETTLED: ReadonlySet<LogState> = new Set(['done', 'abort']);
/** Later states win over earlier ones when records of one transaction are merged. */
const RANK: Record<LogState, number> = { preparing: 0, abort: 1, commit: 2, done: 3 };

export class DecisionLog {
  private handle?: { path: string; fh: Promise<FileHandle>; bytes: number };
  private readonly ownFiles: string[] = [];
  private pending: Pending[] = [];
  private flushing?: Promise<void>;
  private generation = 0;
  private readonly started = Date.now();

  constructor(readonly dir: string) {}

  static forDesign(sitesDir: string, designName: string): DecisionLog {
    return new DecisionLog(path.join(sitesDir, '.ddbkit', `${designName}.txlog.d`));
  }

  /** Appends a record; with `durable` the promise resolves once it is synced to disk. */
  append(record: Omit<LogRecord, 'at'>, durable: boolean): Promise<void> {
    const line = `${JSON.stringify({ ...record, at: new Date().toISOString() })}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, durable, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** The merged record of every transaction in the log (all coordinators' files). */
  async read(): Promise<Map<string, LogRecord>> {
    await this.flushing;
    const merged = new Map<string, LogRecord>();
    for (const file of await this.files()) for (const r of await readRecords(file)) merge(merged, r);
    return merged;
  }

  /**
   * Removes the files of coordinators that are gone whose transactions are all settled or not in
   * `keep` (those still in doubt somewhere), and this process's own older files likewise.
   */
  async compact(keep: ReadonlySet<string>): Promise<void> {
    await this.flushing;
    for (const file of await this.files()) {
      if (file === this.handle?.path) continue;
      const owner = ownerPid(file);
      const mine = this.ownFiles.includes(file);
      if (!mine && owner !== undefined && owner !== process.pid && processAlive(owner)) continue;
      if (!mine && owner === process.pid) continue; // an earlier DecisionLog of this process
      const records = await readRecords(file);
      if (records.some((r) => keep.has(r.gid))) continue;
      await unlink(file).catch(() => {});
      const i = this.ownFiles.indexOf(file);
      if (i >= 0) this.ownFiles.splice(i, 1);
    }
  }

  async close(): Promise<void> {
    await this.flushing;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.fh).close().catch(() => {});
  }

  private async files(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.log')).map((n) => path.join(this.dir, n));
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          const handle = await this.current();
          const text = batch.map((p) => p.line).join('');
          const fh = await handle.fh;
          await fh.write(text);
          handle.bytes += Buffer.byteLength(text);
          if (batch.some((p) => p.durable)) await fh.datasync();
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** This process's file, opened on first use; a new one once it passes ROTATE_BYTES. */
  private async current(): Promise<{ path: string; fh: Promise<FileHandle>; bytes: number }> {
    if (this.handle && this.handle.bytes < ROTATE_BYTES) return this.handle;
    const previous = this.handle;
    const file = path.join(this.dir, `${process.pid}-${this.started}-${this.generation++}.log`);
    await mkdir(this.dir, { recursive: true });
    this.handle = { path: file, fh: open(file, 'a'), bytes: 0 };
    this.ownFiles.push(file);
    if (previous) {
      await (await previous.fh).close().catch(() => {});
      // The old file goes once every transaction in it is settled.
      const records = await readRecords(previous.path);
      const byGid = new Map<string, LogRecord>();
      for (const r of records) merge(byGid, r);
      if ([...byGid.values()].every((r) => SETTLED.has(r.state))) {
        await unlink(previous.path).catch(() => {});
        this.ownFiles.splice(this.ownFiles.indexOf(previous.path), 1);
      }
    }
    return this.handle;
  }
}

async function readRecords(file: string): Promise<LogRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // a torn last line after a crash: that append never completed
    }
  }
  return out;
}

/** `preparing` carries the participants; a later decision (in this file or another) keeps them. */
function merge(into: Map<string, LogRecord>, r: LogRecord): void {
  const before = into.get(r.gid);
  if (!before) {
    into.set(r.gid, r);
    return;
  }
  const later = RANK[r.state] >= RANK[before.state] ? r : before;
  into.set(r.gid, { ...before, ...r, state: later.state, at: later.at });
}

function ownerPid(file: string): number | undefined {
  const m = /^(\d+)-/.exec(path.basename(file));
  return m ? Number(m[1]) : undefined;
}

/** For tests and tools: the size of the log's files. */
export async function logSize(log: DecisionLog): Promise<number> {
  let total = 0;
  for (const n of await readdir(log.dir).catch(() => [] as string[]))
    total += (await stat(path.join(log.dir, n)).catch(() => ({ size: 0 }))).size;
  return total;
}
