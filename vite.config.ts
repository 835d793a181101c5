/**
 * Builds the <stk-pay> widget, Lit bundled in, twice from one entry: a classic script,
 * `widget/dist/stk-pay.js` (`<script src="https://relay.example/stk-pay.js">`), and an ES module,
 * `widget/dist/stk-pay.mjs` (`<script type="module" src="…/stk-pay.mjs">`). Prints each file's
 * gzip size against the budget in `widget/package.json` (`sizeBudget.gzipBytes`), which
 * `widget/size.test.mjs` enforces.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const widgetPackage = JSON.parse(readFileSync(fromRoot('./widget/package.json'), 'utf8')) as { sizeBudget: { gzipBytes: number } };
const budget = widgetPackage.sizeBudget.gzipBytes;

/** One line per built file: raw and gzip size, and how much of the budget is left. */
function gzipSizeReport(): Plugin {
  return {
    name: 'stk-pay-gzip-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== 'chunk') continue;
        const gzip = gzipSync(file.code, { level: 9 }).length;
        const verdict = gzip <= budget ? `${budget - gzip} B under` : `${gzip - budget} B OVER`;
        this.info(`${file.fileName}: ${file.code.length} B, gzip ${gzip} B (budget ${budget} B: ${verdict})`);
      }
    },
  };
}

/**
 * Minifies the widget's stylesheet (a Lit `css` template without interpolations): the bundler
 * leaves template text alone, comments and indentation included.
 */
function minifyLitCss(): Plugin {
  const minify = (text: string) =>
    text
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ')
      .replace(/\s*([{};,>])\s*/g, '$1')
      .replace(/:\s+/g, ':')
      .replace(/;}/g, '}')
      .trim();
  return {
    name: 'stk-pay-minify-css',
    apply: 'build',
    transform(code, id) {
      if (!id.endsWith('.styles.ts')) return null;
      return code.replace(/\bcss`([^`$]*)`/g, (_all, text: string) => `css\`${minify(text)}\``);
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [minifyLitCss(), gzipSizeReport()],
  build: {
    lib: {
      entry: fromRoot('./widget/src/stk-pay.ts'),
      formats: ['es', 'iife'],
      name: 'StkPay',
      fileName: (format) => (format === 'es' ? 'stk-pay.mjs' : 'stk-pay.js'),
    },
    outDir: fromRoot('./widget/dist'),
    emptyOutDir: true,
    minify: true,
    sourcemap: false,
    // Vite's own report counts one format only; the plugin above reports both.
    reportCompressedSize: false,
    rolldownOptions: {
      // Vite leaves a library's ES build unminified (whitespace, comments) for bundlers to shake;
      // this one is loaded by a browser as is.
      output: { minify: true, comments: false },
      // The classic build reads `document.currentScript` instead of `import.meta.url`, which is `{}` there.
      checks: { emptyImportMeta: false },
    },
  },
});
