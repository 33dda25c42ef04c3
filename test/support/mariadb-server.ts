/**
 * A throwaway MariaDB server for tests: fresh data directory in a temp dir, a free port on
 * 127.0.0.1, root over TCP with an empty password, utf8mb4, LOCAL INFILE and FederatedX enabled.
 * Installs nothing: scripts/test-servers.sh does that (`apt-get install mariadb-server`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres-server.js';

export const MARIADBD = process.env.DDBKIT_MARIADBD ?? '/usr/sbin/mariadbd';
const INSTALL_DB = process.env.DDBKIT_MARIADB_INSTALL_DB ?? '/usr/bin/mariadb-install-db';

export interface MariaDbServer {
  /** `mysql://root@127.0.0.1:PORT/ddbkit` (root, empty password; database `ddbkit` created). */
  url: string;
  port: number;
  /** A URL for another database on the same server, created on demand with `createDatabase`. */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Why a MariaDB server cannot be started here, or undefined when it can. */
export function mariaDbUnavailableReason(): string | undefined {
  if (!existsSync(MARIADBD)) return `${MARIADBD} not found (run scripts/test-servers.sh, or apt-get install mariadb-server)`;
  if (!existsSync(INSTALL_DB)) return `${INSTALL_DB} not found (apt-get install mariadb-server)`;
  return undefined;
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const reason = mariaDbUnavailableReason();
  if (reason) throw new Error(`cannot start MariaDB: ${reason}`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-maria-'));
  const dataDir = path.join(root, 'data');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const user = asRoot ? ['--user=root'] : [];
  const init = spawnSync(
    INSTALL_DB,
    ['--no-defaults', `--datadir=${dataDir}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { encoding: 'utf8', cwd: root },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults', `--datadir=${dataDir}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${path.join(root, 's.sock')}`,
      ...user, '--local-infile=1', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin',
      '--plugin-load-add=ha_federatedx.so', '--innodb-flush-log-at-trx-commit=2', '--skip-log-bin',
      '--innodb-buffer-pool-size=128M', `--pid-file=${path.join(root, 'mariadb.pid')}`,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
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
      child.kill('SIGTERM'); // MariaDB shuts down cleanly on SIGTERM
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 15_000);
      await exitPromise;
      clearTimeout(timer);
    }
    cleanup();
  };

  const base = `mysql://root@127.0.0.1:${port}`;
  const mysql = await import('mysql2/promise');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      cleanup();
      throw new Error(`MariaDB exited during start-up:\n${log}`);
    }
    try {
      const conn = await mysql.createConnection({ uri: `${base}/mysql` });
      await conn.query('CREATE DATABASE IF NOT EXISTS ddbkit CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
      await conn.end();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`MariaDB did not accept connections within 30 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const createDatabase = async (name: string): Promise<void> => {
    const conn = await mysql.createConnection({ uri: `${base}/mysql` });
    try {
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await conn.end();
    }
  };
  return { url: `${base}/ddbkit`, port, urlFor: (db) => `${base}/${db}`, createDatabase, stop };
}
