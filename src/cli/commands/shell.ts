import { appendFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Command } from 'commander';
import pc from 'picocolors';
import { isUserError } from '../errors.js';
import { type DistributedDatabase, openDistributed } from '../../query/distributed.js';
import { SiteError } from '../../engines/connector.js';
import { formatRows } from '../format.js';
import type { Io } from '../io.js';
import { formatPlan } from './query.js';
import { ScriptRunner } from '../../write/session.js';
import { formatStatementResult } from '../results.js';

const HELP = `Global SQL ends with ;  SELECT, INSERT, UPDATE, DELETE; BEGIN … COMMIT / ROLLBACK for a transaction
across sites (two-phase commit); SELECT … FOR UPDATE locks the rows read.  Meta-commands:
  \\d              list the global relations and where their fragments live
  \\d RELATION     its columns and fragments
  \\explain SQL    the distributed plan of a query
  \\analyze SQL    run it and show the plan with actual rows and times
  \\q              quit`;

function describeRelations(db: DistributedDatabase, name?: string): string {
  const out: string[] = [];
  for (const rr of db.resolved.relations) {
    if (name && rr.relation.name.toLowerCase() !== name.toLowerCase()) continue;
    const where = rr.fragments.map((f) => `${f.name}@${f.sites.map((s) => s.name).join('+')}`).join(', ');
    out.push(`${pc.cyan(rr.relation.name)} (${rr.relation.columns.length} columns) — ${where || pc.yellow('no fragment')}`);
    if (name) {
      for (const c of rr.relation.columns)
        out.push(
          `  ${c.name.padEnd(20)} ${c.type.sqlType}${c.nullable ? '' : ' NOT NULL'}${rr.relation.primaryKey.includes(c.name) ? ' (key)' : ''}`,
        );
      for (const f of rr.fragments)
        out.push(
          `  ${f.name}: ${f.spec.where ?? (f.parent ? `follows ${f.parent.fragment.name}` : 'all rows')}; columns ${f.columns.join(', ')}; at ${f.sites.map((s) => `${s.name} (${s.engine})`).join(', ')}`,
        );
    }
  }
  return `${out.join('\n') || `no relation ${name}`}\n`;
}

export function registerShell(program: Command, io: Io): void {
  program
    .command('shell')
    .description('an interactive SQL prompt on the distributed database (\\d, \\explain, history)')
    .argument('<design>', 'the design file')
    .option('--sites-dir <dir>', 'where file: site URLs resolve (default: the design file folder)')
    .action(async (file: string, opts: { sitesDir?: string }) => {
      const db = await openDistributed(file, opts.sitesDir ? { sitesDir: opts.sitesDir } : {});
      const historyFile = path.join(os.homedir(), '.ddbkit_history');
      const history = (await readFile(historyFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).reverse().slice(0, 500);
      const interactive = Boolean(process.stdin.isTTY);
      const rl = readline.createInterface({
        input: process.stdin,
        output: process.stdout,
        terminal: interactive,
        history,
        historySize: 500,
      });
      if (interactive)
        io.stdout(
          `${pc.bold(`ddbkit shell — ${db.design.name}`)} (${db.design.sites.length} sites). \\? for help, \\q to quit.\n`,
        );
      const runner = new ScriptRunner(db);
      const prompt = (more: boolean) => {
        if (interactive) {
          // As psql: * inside a transaction, ! once it failed and only ROLLBACK is left.
          const state = runner.transactionFailed ? '!' : runner.inTransaction ? '*' : '';
          rl.setPrompt(more ? `${db.design.name}-${state}> ` : `${db.design.name}=${state}> `);
          rl.prompt();
        }
      };
      let buffer = '';
      const run = async (input: string): Promise<boolean> => {
        const line = input.trim();
        if (buffer === '' && line.startsWith('\\')) {
          const [cmd, ...rest] = line.split(/\s+/);
          const arg = line.slice(cmd!.length).trim().replace(/;$/, '');
          switch (cmd) {
            case '\\q':
              return false;
            case '\\?':
            case '\\h':
              io.stdout(`${HELP}\n`);
              return true;
            case '\\d':
              io.stdout(describeRelations(db, rest[0]));
              return true;
            case '\\explain':
              io.stdout(formatPlan(await db.explain(arg)));
              return true;
            case '\\analyze': {
              const r = await db.query(arg, { analyze: true });
              io.stdout(formatRows(r.columns, r.families, r.rows, 'table') + formatPlan(r.plan));
              return true;
            }
            default:
              io.stdout(`unknown command ${cmd}; \\? for help\n`);
              return true;
          }
        }
        buffer += `${input}\n`;
        if (!line.endsWith(';')) return true;
        const sql = buffer.trim().replace(/;$/, '');
        buffer = '';
        if (sql) {
          await appendFile(historyFile, `${sql.replace(/\n/g, ' ')}\n`).catch(() => {});
          await runner.run(sql, (r) => io.stdout(formatStatementResult(r, 'table')));
        }
        return true;
      };
      prompt(false);
      try {
        for await (const input of rl) {
          let goOn = true;
          try {
            goOn = await run(input);
          } catch (e) {
            buffer = '';
            if (isUserError(e) || e instanceof SiteError) io.stdout(`${pc.red('error:')} ${(e as Error).message}\n`);
            else throw e;
          }
          if (!goOn) break;
          prompt(buffer !== '');
        }
      } finally {
        rl.close();
        if (await runner.close().catch(() => false)) io.stdout('the open transaction was rolled back\n');
        await db.close();
      }
    });
}
