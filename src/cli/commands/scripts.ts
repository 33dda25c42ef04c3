import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { generateScripts } from '../../deploy/scripts.js';
import { loadDesign } from '../../design/load.js';
import { resolveDesign } from '../../design/resolve.js';
import { openSource } from '../../engines/source.js';
import { packageVersion } from '../../util/package.js';
import type { Io } from '../io.js';

export function registerScripts(program: Command, io: Io): void {
  program
    .command('scripts')
    .description(
      'write one SQL script per site (<SITE>_DDB_SCRIPT.sql): fragment tables, and at the decision site links and views',
    )
    .argument('<design>', 'the design file')
    .requiredOption('--out <dir>', 'folder to write the scripts into (created if missing)')
    .action(async (file: string, opts: { out: string }) => {
      const design = await loadDesign(file);
      const source = await openSource(design.source, design.dir);
      try {
        const scripts = generateScripts(resolveDesign(design, source.catalog), packageVersion());
        await mkdir(opts.out, { recursive: true });
        for (const s of scripts) {
          const target = path.join(opts.out, s.file);
          await writeFile(target, s.sql);
          io.stdout(`${pc.green('wrote')} ${target}  ${pc.dim(`(${s.site.name}, ${s.site.engine})`)}\n`);
        }
      } finally {
        await source.close();
      }
    });
}
