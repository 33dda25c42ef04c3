/**
 * The decision log on its own: records merged across coordinator files, a later decision winning
 * over `preparing`, compaction that never removes a file a live coordinator may still append to,
 * and torn last lines (a crash mid-append) ignored.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/write/txlog.js';

const dirs: string[] = [];
const tempLog = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-txlog-'));
  dirs.push(dir);
  return DecisionLog.forDesign(dir, 'd');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('decision log', () => {
  it('merges every coordinator file; a decision wins over preparing and keeps its participants', async () => {
    const log = tempLog();
    await log.append({ gid: 'g1', state: 'preparing', participants: ['A', 'B'], pid: process.pid }, true);
    await log.append({ gid: 'g2', state: 'preparing', participants: ['A', 'C'], pid: process.pid }, false);
    // Another (crashed) coordinator's file, with a torn last line, and a recovery's decision for g1 in it.
    writeFileSync(
      path.join(log.dir, '999999-1-0.log'),
      `${JSON.stringify({ gid: 'g1', state: 'commit', at: 'x' })}\n{"gid":"g3","sta`,
    );
    const records = await log.read();
    expect(records.get('g1')).toMatchObject({ state: 'commit', participants: ['A', 'B'] });
    expect(records.get('g2')).toMatchObject({ state: 'preparing', participants: ['A', 'C'] });
    expect(records.has('g3')).toBe(false);
    await log.close();
  });

  it('compaction removes settled files of gone coordinators only, never the live one being appended to', async () => {
    const log = tempLog();
    await log.append({ gid: 'live', state: 'preparing', pid: process.pid }, true);
    const gone = path.join(log.dir, '999999-1-0.log');
    const goneInDoubt = path.join(log.dir, '999998-1-0.log');
    writeFileSync(gone, `${JSON.stringify({ gid: 'old', state: 'done', at: 'x' })}\n`);
    writeFileSync(goneInDoubt, `${JSON.stringify({ gid: 'doubt', state: 'preparing', pid: 999998, at: 'x' })}\n`);
    await log.compact(new Set(['doubt']));
    const left = readdirSync(log.dir).sort();
    expect(left).toContain('999998-1-0.log'); // still in doubt somewhere
    expect(left).not.toContain('999999-1-0.log'); // settled, owner gone
    expect(left.filter((n) => n.startsWith(`${process.pid}-`))).toHaveLength(1); // this process's file stays
    // Appends after compaction still land where read() sees them.
    await log.append({ gid: 'live', state: 'commit' }, true);
    expect((await log.read()).get('live')?.state).toBe('commit');
    await log.close();
  });

  it('appends arriving together share one write, each resolved once it is on disk', async () => {
    const log = tempLog();
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ gid: `t${i}`, state: 'commit' }, true)));
    const records = await log.read();
    expect([...records.keys()].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `t${i}`).sort());
    await log.close();
  });
});
