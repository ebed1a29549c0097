import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from './helpers/tmp.js';

/**
 * Tests what ships: builds dist/ once, then imports it by the package's name, through its `exports`
 * map, from ESM and from CommonJS (Node resolves a package's own name from files inside it).
 */
const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

async function smoke(fixture: string, dir: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [path.join(FIXTURES, fixture), dir], {
    cwd: ROOT,
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string);
}

describe('the built package', () => {
  let dir: string;

  beforeAll(async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 170_000, killSignal: 'SIGKILL' });
  }, 180_000);
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  it('has every file its package.json points to', () => {
    const targets: string[] = [packageJson.main, packageJson.module, packageJson.types];
    const walk = (node: unknown): void => {
      if (typeof node === 'string') targets.push(node);
      else if (node && typeof node === 'object') for (const child of Object.values(node)) walk(child);
    };
    walk(packageJson.exports);
    for (const target of targets) expect(fs.existsSync(path.join(ROOT, target)), target).toBe(true);
    expect(packageJson.name).toBe('diskcache-ts');
  });

  it('imports as ESM and round-trips a value', async () => {
    const result = await smoke('package-smoke.mjs', dir);
    expect(result).toEqual({
      resolved: expect.stringMatching(/\/dist\/esm\/index\.js$/),
      own: { flavor: 'esm', when: '1970-01-01T00:00:00.000Z' },
      counter: 1,
      closedIsCacheError: true,
      closedCode: 'ECLOSED',
    });
  });

  it('requires as CommonJS and round-trips a value', async () => {
    const result = await smoke('package-smoke.cjs', dir);
    expect(result).toEqual({
      resolved: expect.stringMatching(/\/dist\/cjs\/index\.js$/),
      own: { flavor: 'cjs', when: '1970-01-01T00:00:00.000Z' },
      counter: 1,
      closedIsCacheError: true,
      closedCode: 'ECLOSED',
    });
  });

  it('shares one directory between the ESM and the CommonJS builds', async () => {
    await smoke('package-smoke.mjs', dir);
    const cjs = await smoke('package-smoke.cjs', dir);
    expect(cjs.other).toEqual({ flavor: 'esm', when: '1970-01-01T00:00:00.000Z' });
    expect(cjs.counter).toBe(2);
    const esm = await smoke('package-smoke.mjs', dir);
    expect(esm.other).toEqual({ flavor: 'cjs', when: '1970-01-01T00:00:00.000Z' });
    expect(esm.counter).toBe(3);
  });

  it('packs the sources its source maps name, its LICENSE and its CHANGELOG, and no tests', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    const files = new Set<string>(JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path));
    for (const name of [
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
      'package.json',
      'keyv/package.json',
      'internal/package.json',
    ])
      expect(files.has(name), name).toBe(true);
    expect([...files].filter((f) => /^(test|bench|scripts|examples)\//.test(f))).toEqual([]);
    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(fs.readFileSync(path.join(ROOT, map), 'utf8'));
      for (const source of sources as string[]) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(map), sourceRoot, source));
        if (!files.has(target)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  }, 90_000);

  it('resolves every entry point under every moduleResolution, node10 (no exports) included', async () => {
    const { default: ts } = await import('typescript');
    // An installed copy: node_modules/diskcache-ts in a folder of its own, a link to this package.
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'diskcache-ts'), 'dir');
    const importer = path.join(dir, 'index.ts');
    const resolve = (specifier: string, moduleResolution: number, module: number, mode?: number) =>
      ts.resolveModuleName(
        specifier,
        importer,
        { moduleResolution, module },
        ts.sys,
        undefined,
        undefined,
        mode,
      ).resolvedModule?.resolvedFileName;
    const { ModuleResolutionKind: R, ModuleKind: M } = ts;
    const { CommonJS: cjs, ESNext: esm } = M;
    for (const [specifier, file] of [
      ['diskcache-ts', 'index'],
      ['diskcache-ts/keyv', 'adapters/keyv'],
      ['diskcache-ts/internal', 'internal'],
    ] as const) {
      expect(resolve(specifier, R.Node10, M.CommonJS), `${specifier} node10`).toMatch(
        new RegExp(`/dist/(cjs|esm)/${file}\\.d\\.ts$`),
      );
      expect(resolve(specifier, R.Node16, M.Node16, cjs), `${specifier} node16 from CJS`).toMatch(
        new RegExp(`/dist/cjs/${file}\\.d\\.ts$`),
      );
      expect(resolve(specifier, R.Node16, M.Node16, esm), `${specifier} node16 from ESM`).toMatch(
        new RegExp(`/dist/esm/${file}\\.d\\.ts$`),
      );
      expect(resolve(specifier, R.Bundler, M.ESNext), `${specifier} bundler`).toMatch(
        new RegExp(`/dist/esm/${file}\\.d\\.ts$`),
      );
    }
    // Without "exports", the stubs keyv/package.json and internal/package.json lead a plain require()
    // to the CommonJS build.
    for (const subpath of ['keyv', 'internal']) {
      const stub = JSON.parse(fs.readFileSync(path.join(ROOT, subpath, 'package.json'), 'utf8'));
      for (const target of [stub.main, stub.types])
        expect(fs.existsSync(path.join(ROOT, subpath, target))).toBe(true);
    }
  });
});
