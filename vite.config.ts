/**
 * Builds the <stk-pay> widget into one self-contained classic script, `widget/dist/stk-pay.js`,
 * that a merchant adds with `<script src="https://relay.example/stk-pay.js">` (Lit bundled in).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  publicDir: false,
  build: {
    lib: {
      entry: fromRoot('./widget/src/stk-pay.ts'),
      formats: ['iife'],
      name: 'StkPay',
      fileName: () => 'stk-pay.js',
    },
    outDir: fromRoot('./widget/dist'),
    emptyOutDir: true,
    minify: true,
    sourcemap: false,
    reportCompressedSize: true,
  },
});
