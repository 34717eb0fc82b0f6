// Prints the size of the browser build (dist/browser.js): minified, gzipped and brotli-compressed.
// Run after `npm run build`:  node scripts/size.mjs
import console from 'node:console';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const file = new URL('../dist/browser.js', import.meta.url);
let source;
try {
  source = readFileSync(file);
} catch {
  console.error('dist/browser.js is missing: run `npm run build` first.');
  process.exit(1);
}
const gzip = gzipSync(source, { level: 9 }).byteLength;
const brotli = brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength;
const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`;
console.log(`dist/browser.js  minified ${source.byteLength} B (${kib(source.byteLength)})  gzip ${gzip} B (${kib(gzip)})  brotli ${brotli} B (${kib(brotli)})`);
