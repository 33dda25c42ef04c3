/**
 * Deployment progress: a bar per fragment on a terminal (rows, rows/s, ETA), one line per fragment
 * otherwise (CI logs, pipes).
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { DeployProgress, TableAction } from '../deploy/deploy.js';
import type { Io } from './io.js';

const ACTION_TEXT: Record<TableAction, string> = { created: 'loaded', unchanged: 'already up to date', refilled: 'refilled' };

function line(site: string, fragment: string, rows: number, action: TableAction, seconds: number): string {
  const rate =
    seconds > 0 && action !== 'unchanged' ? pc.dim(` (${Math.round(rows / seconds).toLocaleString('en')} rows/s)`) : '';
  return `  ${pc.cyan(site.padEnd(10))} ${fragment.padEnd(22)} ${rows.toLocaleString('en').padStart(9)} rows ${ACTION_TEXT[action]}${rate}\n`;
}

export function deployProgress(io: Io, interactive = Boolean(process.stderr.isTTY)): DeployProgress {
  let bar: cliProgress.SingleBar | undefined;
  let value = 0;
  let started = 0;
  return {
    start(site, fragment, total) {
      value = 0;
      started = performance.now();
      if (!interactive) return;
      bar = new cliProgress.SingleBar(
        {
          format: `  ${site.padEnd(10)} ${fragment.padEnd(22)} [{bar}] {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { rate: 0 });
    },
    advance(rows) {
      value += rows;
      const seconds = (performance.now() - started) / 1000;
      bar?.update(value, { rate: seconds > 0 ? Math.round(value / seconds) : 0 });
    },
    done(site, fragment, rows, action, seconds) {
      bar?.stop();
      bar = undefined;
      io.stdout(line(site, fragment, rows, action, seconds));
    },
    note(text) {
      io.stdout(`${text}\n`);
    },
  };
}
