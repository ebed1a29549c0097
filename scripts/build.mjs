// Builds dist/esm (ES modules) and dist/cjs (CommonJS) from src with the TypeScript compiler.
// `node scripts/build.mjs [OUT]` builds into OUT/esm and OUT/cjs instead (the CLI tests build into a
// directory of their own, so that they never race another build of dist/).
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const out = process.argv[2] ?? 'dist';
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(out, 'esm')], {
  stdio: 'inherit',
});
execFileSync(
  process.execPath,
  [
    tsc,
    '-p',
    'tsconfig.build.json',
    '--outDir',
    join(out, 'cjs'),
    '--module',
    'CommonJS',
    '--moduleResolution',
    'Node10',
    '--verbatimModuleSyntax',
    'false',
  ],
  { stdio: 'inherit' },
);
writeFileSync(join(out, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
// The `diskcache` bin (package.json "bin"); tsc keeps its #! line but not an executable mode.
chmodSync(join(out, 'esm', 'cli', 'main.js'), 0o755);
