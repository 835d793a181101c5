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
import ts from 'typescript';
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
 * Minifies the widget's stylesheet (the template literal, without interpolations, that
 * `stk-pay.styles.ts` exports): the bundler leaves template text alone, comments and indentation
 * included.
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
      return code.replace(/\bexport default `([^`$]*)`/g, (_all, text: string) => `export default \`${minify(text)}\``);
    },
  };
}

/**
 * Takes the source's layout out of the widget's Lit `html` templates: a line break and the
 * indentation around it go entirely next to a tag (`>` before it, `<` after it, or the template's
 * start or end), and become one space elsewhere (between attributes). Spaces within a line are
 * content and stay. The templates are found with TypeScript's parser, so `${…}` expressions (and
 * templates nested in them) are never touched.
 */
function minifyLitHtml(): Plugin {
  const squeeze = (text: string, first: boolean, last: boolean) =>
    text.replace(/\s*\n\s*/g, (space: string, at: number) => {
      const before = at === 0 ? (first ? '>' : '') : text[at - 1];
      const after = at + space.length === text.length ? (last ? '<' : '') : text[at + space.length];
      return before === '>' || after === '<' ? '' : ' ';
    });
  return {
    name: 'stk-pay-minify-html',
    apply: 'build',
    transform(code, id) {
      if (!/\/widget\/src\/.*\.ts$/.test(id) || !code.includes('html`')) return null;
      const source = ts.createSourceFile(id, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      const edits: { start: number; end: number; text: string }[] = [];
      const visit = (node: ts.Node): void => {
        if (ts.isTaggedTemplateExpression(node) && node.tag.getText(source) === 'html') {
          const template = node.template;
          const pieces = ts.isNoSubstitutionTemplateLiteral(template)
            ? [template]
            : [template.head, ...template.templateSpans.map((span) => span.literal)];
          pieces.forEach((piece, index) => {
            // The raw text between the backtick, `}` or `${` that delimit each piece.
            const start = piece.getStart(source) + 1;
            const end = piece.getEnd() - (ts.isTemplateHead(piece) || ts.isTemplateMiddle(piece) ? 2 : 1);
            const raw = code.slice(start, end);
            const text = squeeze(raw, index === 0, index === pieces.length - 1);
            if (text !== raw) edits.push({ start, end, text });
          });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      let result = code;
      for (const { start, end, text } of edits.sort((a, b) => b.start - a.start)) result = result.slice(0, start) + text + result.slice(end);
      return { code: result, map: null };
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [minifyLitHtml(), minifyLitCss(), gzipSizeReport()],
  build: {
    lib: {
      entry: fromRoot('./widget/src/stk-pay.ts'),
      formats: ['es', 'iife'],
      name: 'StkPay',
      fileName: (format) => (format === 'es' ? 'stk-pay.mjs' : 'stk-pay.js'),
    },
    outDir: fromRoot('./widget/dist'),
    emptyOutDir: true,
    // Terser (three passes) first, then Rolldown's own minifier over its output (below): 45–60 B
    // gzip fewer than Rolldown's alone, which pays for following a Pay sent by a replaced element.
    minify: 'terser',
    terserOptions: { compress: { passes: 3 } },
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
