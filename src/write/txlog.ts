/**
 * The coordinator's decision log: one JSON line per step of a two-phase commit, in a file beside
 * the sites (`<sitesDir>/.ddbkit/<design>.txlog`). A decision is on disk (fdatasync) before any
 * site hears it, so `recover` can finish what a crashed coordinator left prepared. Appends that
 * arrive together share one write and one sync (group commit): under many concurrent
 * transactions the log costs one sync per batch, not per transaction.
 */
import { type FileHandle, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

export class DecisionLog {
  private handle?: Promise<FileHandle>;
  private pending: Pending[] = [];
  private flushing?: Promise<void>;

  constructor(readonly file: string) {}

  static forDesign(sitesDir: string, designName: string): DecisionLog {
    return new DecisionLog(path.join(sitesDir, '.ddbkit', `${designName}.txlog`));
  }

  /** Appends a record; with `durable` the promise resolves once it is synced to disk. */
  append(record: Omit<LogRecord, 'at'>, durable: boolean): Promise<void> {
    const line = `${JSON.stringify({ ...record, at: new Date().toISOString() })}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, durable, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** The latest record of every transaction in the log. */
  async read(): Promise<Map<string, LogRecord>> {
    await this.flushing;
    const latest = new Map<string, LogRecord>();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return latest;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        continue; // a torn last line after a crash: that append never completed
      }
      const before = latest.get(record.gid);
      // `preparing` carries the participants; keep them when the decision follows.
      latest.set(record.gid, { ...before, ...record });
    }
    return latest;
  }

  /** Rewrites the log keeping only the transactions in `keep` (those still in doubt somewhere). */
  async compact(keep: ReadonlySet<string>): Promise<void> {
    await this.flushing;
    await this.close();
    const records = await this.read();
    const lines = [...records.values()].filter((r) => keep.has(r.gid)).map((r) => `${JSON.stringify(r)}\n`);
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, lines.join(''));
    await rename(tmp, this.file);
  }

  async close(): Promise<void> {
    await this.flushing;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close().catch(() => {});
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          this.handle ??= mkdir(path.dirname(this.file), { recursive: true }).then(() => open(this.file, 'a'));
          const fh = await this.handle;
          await fh.write(batch.map((p) => p.line).join(''));
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
}
