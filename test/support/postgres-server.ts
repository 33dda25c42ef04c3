/**
 * A throwaway PostgreSQL 15 server for tests: fresh data directory in a temp dir, a free
 * port on 127.0.0.1, its own socket directory, trust authentication, fsync off.
 * When the test process runs as root the server runs as the `postgres` OS user (initdb
 * refuses root); otherwise it runs as the current user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const POSTGRES_BIN = process.env.DDBKIT_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth: any password is accepted). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function runAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why a PostgreSQL server cannot be started here, or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  for (const bin of ['initdb', 'postgres']) {
    if (!existsSync(path.join(POSTGRES_BIN, bin))) return `${path.join(POSTGRES_BIN, bin)} not found (install postgresql-15 or set DDBKIT_PG_BIN)`;
  }
  if (runAs() === undefined) return 'running as root and there is no `postgres` OS user to run the server as';
  return undefined;
}

export function postgresAvailable(): boolean {
  return postgresUnavailableReason() === undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(`cannot start PostgreSQL: ${reason}`);
  const user = runAs() ?? {};
  const root = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-pg-'));
  const dataDir = path.join(root, 'data');
  const socketDir = root;
  if (user.uid !== undefined) chownSync(root, user.uid, user.gid ?? user.uid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };

  const init = spawnSync(
    path.join(POSTGRES_BIN, 'initdb'),
    ['-D', dataDir, '--no-sync', '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C'],
    { ...user, env, encoding: 'utf8', cwd: root },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }

  const port = await freePort();
  const child: ChildProcess = spawn(
    path.join(POSTGRES_BIN, 'postgres'),
    [
      '-D', dataDir, '-p', String(port), '-k', socketDir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_prepared_transactions=64',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      // Logical replication (async fragments between PostgreSQL sites): publications, slots, subscriptions.
      '-c', 'wal_level=logical', '-c', 'max_replication_slots=32', '-c', 'max_wal_senders=32',
      '-c', 'max_logical_replication_workers=16', '-c', 'max_worker_processes=32',
    ],
    { ...user, env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
    if (log.length > 20_000) log = log.slice(-20_000);
  });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGINT'); // fast shutdown; SIGTERM would wait for clients
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
    cleanup();
  };

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pg = await import('pg');
  const Client = (pg.default ?? pg).Client;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      cleanup();
      throw new Error(`PostgreSQL exited during start-up:\n${log}`);
    }
    const client = new Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      break;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`PostgreSQL did not accept connections within 30 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, port, stop };
}
