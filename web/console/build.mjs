// Bundles the console into ../dist, which the Go binary embeds. Nothing is
// fetched at run time: MapLibre's code and CSS are bundled, and the map has
// no internet basemap.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = new URL('../dist/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: out + 'app.js',
  logLevel: 'warning',
});
// MapLibre runs its tile decoding in a module worker loaded next to app.js.
for (const f of ['maplibre-gl.css', 'maplibre-gl-worker.mjs', 'maplibre-gl-shared.mjs']) {
  copyFileSync('node_modules/maplibre-gl/dist/' + f, out + f);
}
copyFileSync('src/index.html', out + 'index.html');
copyFileSync('src/app.css', out + 'app.css');
