/**
 * YAML input files (designs, workloads) read the same way: a clear error for a missing or
 * unreadable file or malformed YAML, and the line of any path in the document for later messages.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';

/** Builds the caller's own error type: `problem` with the file and, when known, the line. */
export type MakeError = (problem: string, at: { file: string; line?: number }) => Error;

/** The text of an input file; `what` names it in messages ("design file", "workload file"). */
export async function readInputFile(
  file: string,
  what: string,
  makeError: MakeError,
): Promise<{ text: string; absolute: string }> {
  const absolute = path.resolve(file);
  try {
    return { text: await readFile(absolute, 'utf8'), absolute };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw makeError(code === 'ENOENT' ? `${what} not found` : `cannot read the ${what} (${code})`, { file: absolute });
  }
}

/** A YAML document (duplicate keys refused) and the line of a path in it (the nearest node that has one). */
export function parseYamlWithLines(
  text: string,
  file: string,
  makeError: MakeError,
): { doc: Document; lineOf: (p: readonly PropertyKey[]) => number | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? (err.pos ? lineCounter.linePos(err.pos[0]).line : undefined);
    throw makeError(`malformed YAML: ${err.message.split('\n')[0]}`, { file, ...(line ? { line } : {}) });
  }
  const lineOf = (p: readonly PropertyKey[]): number | undefined => {
    for (let i = p.length; i >= 0; i--) {
      const node = doc.getIn(p.slice(0, i) as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { doc, lineOf };
}
