// Compiles the DOM-free parts of the console (src/verify, src/i18n catalogs) to plain ES
// modules under test/build/, so that `node --test` runs them without a browser. Uses the
// esbuild that Vite itself depends on.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const common = { bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'warning' };
await build({ ...common, entryPoints: [path.join(root, 'src/verify/index.ts')], outfile: path.join(root, 'test/build/verify.mjs') });
for (const name of ['zh-CN', 'en']) {
  await build({ ...common, entryPoints: [path.join(root, `src/i18n/${name}.ts`)], outfile: path.join(root, `test/build/${name}.mjs`) });
}
