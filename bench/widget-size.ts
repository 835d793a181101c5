/**
 * Widget size: our built script, as a merchant's customers download it (Lit included), against
 * the checkout scripts of two anchors installed as devDependencies of this package, all measured
 * the same way: the file a browser loads, gzip -9.
 * - IntaSend: `intasend-inlinejs-sdk/build/intasend-inline.js` (its browser bundle, the file its
 *   docs load from a CDN).
 * - Paystack: `@paystack/inline-js/dist/inline.js` (its UMD build, the script-tag file).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from './lib/processes.js';
import type { Row } from './lib/results.js';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** At most 10 KB (10,000 B, the widget's own budget) and below both anchors. */
export const GOAL_BYTES = 10_000;

export const gzip9 = (file: string): number => gzipSync(readFileSync(file), { level: 9 }).length;

export function widgetSize(): Row[] {
  const ours = [
    { name: 'stk-pay.js (classic script)', file: join(repoRoot, 'widget', 'dist', 'stk-pay.js') },
    { name: 'stk-pay.mjs (ES module)', file: join(repoRoot, 'widget', 'dist', 'stk-pay.mjs') },
  ];
  const anchors = [
    { name: 'IntaSend inline', file: join(packageDir('intasend-inlinejs-sdk'), 'build', 'intasend-inline.js') },
    { name: 'Paystack inline', file: join(packageDir('@paystack/inline-js'), 'dist', 'inline.js') },
  ];
  const rows: Row[] = [];
  for (const widget of ours) {
    const size = gzip9(widget.file);
    for (const anchor of anchors) {
      const baseline = gzip9(anchor.file);
      rows.push({
        section: 'widget size',
        figure: `${widget.name}, gzip -9`,
        value: size,
        baselineName: anchor.name,
        baseline,
        unit: 'B',
        ratio: size / baseline,
        goal: `≤ ${GOAL_BYTES.toLocaleString('en')} B, below the anchor`,
        met: size <= GOAL_BYTES && size < baseline,
      });
    }
  }
  return rows;
}
