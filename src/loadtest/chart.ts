/**
 * The comparison chart of `loadtest --compare` (the DDB-Helper paper's Figure 1: the same load on
 * each design): throughput and latency percentiles per design, drawn with Vega-Lite and rendered
 * to SVG in Node (no browser), to PNG with resvg (a prebuilt binary, no native build), and an
 * HTML page embedding the SVG with the numbers and the checks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadTestReport } from './index.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (x: number) => Math.round(x * 10) / 10;

function label(r: LoadTestReport): string {
  return `${r.design.name}${r.design.centralized ? ' (centralized)' : ` (${r.design.sites.length} sites)`}`;
}

export function chartSpec(reports: LoadTestReport[], title: string): Record<string, unknown> {
  const designs = reports.map(label);
  const throughput = reports.map((r) => ({ design: label(r), throughput: Math.round(r.run.throughput * 10) / 10 }));
  const latency = reports.flatMap((r) =>
    (['p50', 'p95', 'p99'] as const).map((p) => ({ design: label(r), percentile: p, ms: ms(r.run.latency[p]) })),
  );
  const color = {
    field: 'design',
    type: 'nominal',
    scale: { domain: designs },
    legend: { orient: 'bottom', title: null, labelLimit: 500, direction: 'vertical' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'the same workload on each design (after the DDB-Helper paper, Figure 1)' },
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: null } },
    hconcat: [
      {
        title: 'Throughput (committed transactions/s)',
        data: { values: throughput },
        width: 260,
        height: 260,
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'design', type: 'nominal', sort: designs, axis: { labels: false, title: null, ticks: false } },
              y: { field: 'throughput', type: 'quantitative', title: 'tx/s' },
              color,
            },
          },
          {
            mark: { type: 'text', dy: -6 },
            encoding: {
              x: { field: 'design', type: 'nominal', sort: designs },
              y: { field: 'throughput', type: 'quantitative' },
              text: { field: 'throughput', type: 'quantitative', format: ',.1f' },
            },
          },
        ],
      },
      {
        title: 'Latency of a committed transaction (ms, retries included)',
        data: { values: latency },
        width: 320,
        height: 260,
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'percentile', type: 'nominal', sort: ['p50', 'p95', 'p99'], title: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'design', type: 'nominal', sort: designs },
          y: { field: 'ms', type: 'quantitative', title: 'ms' },
          color,
          tooltip: [{ field: 'design' }, { field: 'percentile' }, { field: 'ms', type: 'quantitative' }],
        },
      },
    ],
  };
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG from the SVG, or undefined (with the reason) when resvg's prebuilt binary is not available here. */
export async function renderPng(svg: string): Promise<{ png?: Buffer; reason?: string }> {
  try {
    const { Resvg } = await import('@resvg/resvg-js');
    const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } })
      .render()
      .asPng();
    return { png: Buffer.from(png) };
  } catch (e) {
    return { reason: (e as Error).message.split('\n')[0] };
  }
}

function htmlPage(reports: LoadTestReport[], svg: string, title: string): string {
  const rows = reports
    .map((r) => {
      const l = r.run.latency;
      return `<tr><td>${escapeHtml(label(r))}</td><td>${r.design.sites.map((s) => `${escapeHtml(s.name)} (${s.engine})`).join(', ')}</td><td>${r.run.throughput.toFixed(1)}</td><td>${ms(l.p50)}</td><td>${ms(l.p95)}</td><td>${ms(l.p99)}</td><td>${ms(l.max)}</td><td>${r.run.committed}</td><td>${r.run.refused}</td><td>${r.run.aborted}</td><td>${r.run.errors}</td><td>${r.run.retries}</td><td class="${r.ok ? 'ok' : 'ko'}">${r.ok ? 'pass' : 'FAIL'}</td></tr>`;
    })
    .join('\n');
  const checks = reports
    .map(
      (r) =>
        `<h3>${escapeHtml(label(r))}</h3><ul>${r.checks
          .map(
            (c) => `<li class="${c.ok ? 'ok' : 'ko'}">${c.ok ? '✓' : '✗'} ${escapeHtml(c.name)} — ${escapeHtml(c.detail)}</li>`,
          )
          .join('')}</ul>`,
    )
    .join('\n');
  const first = reports[0]!;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
td:first-child, td:nth-child(2), th { text-align: left; } .ok { color: #1a7f37; } .ko { color: #cf222e; font-weight: bold; }
ul { list-style: none; padding-left: 0; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>Workload <code>${escapeHtml(first.workload.name)}</code> (${escapeHtml(first.workload.file)}): ${first.run.users} concurrent users × ${first.run.ops} transactions each, seed ${first.run.seed}; every design starts from the source's data.</p>
<figure>${svg}</figure>
<table><thead><tr><th>design</th><th>sites</th><th>tx/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>committed</th><th>refused</th><th>aborted</th><th>errors</th><th>retries</th><th>checks</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Checks after each run</h2>
${checks}
</body></html>
`;
}

export interface ChartFiles {
  svg: string;
  png?: string;
  pngUnavailable?: string;
  html: string;
  json: string;
}

/** Writes loadtest.svg, loadtest.png (when resvg is available), index.html and loadtest.json into `dir`. */
export async function writeComparison(reports: LoadTestReport[], dir: string): Promise<ChartFiles> {
  await mkdir(dir, { recursive: true });
  const title = `Load test: ${reports[0]!.workload.name}`;
  const svg = await renderSvg(chartSpec(reports, title));
  const files: ChartFiles = {
    svg: path.join(dir, 'loadtest.svg'),
    html: path.join(dir, 'index.html'),
    json: path.join(dir, 'loadtest.json'),
  };
  await writeFile(files.svg, svg);
  const { png, reason } = await renderPng(svg);
  if (png) {
    files.png = path.join(dir, 'loadtest.png');
    await writeFile(files.png, png);
  } else files.pngUnavailable = reason ?? 'unknown reason';
  await writeFile(files.html, htmlPage(reports, svg, title));
  await writeFile(files.json, `${JSON.stringify(reports.map(reportJson), null, 2)}\n`);
  return files;
}

/** A report as JSON (the written-rows map as an object). */
export function reportJson(r: LoadTestReport): Record<string, unknown> {
  return { ...r, run: { ...r.run, written: Object.fromEntries(r.run.written) } };
}
