import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { registerContractSuites } from './helpers/contract.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

// The contract suite, unchanged, over a Cache with the memory tier.
registerContractSuites('Cache with a memory tier', (directory, options) =>
  options !== null && typeof options === 'object'
    ? new Cache(directory, { memory: { maxEntries: 100 }, ...options })
    : new Cache(directory, options),
);

const SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** Runs `code` (an ES module body with `cache` open on `dir`) in a child process. */
function inChild(dir: string, code: string): void {
  const script = `import { Cache } from ${JSON.stringify(SRC)};\nconst cache = new Cache(${JSON.stringify(dir)});\n${code}\ncache.closeSync();`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(child.status, child.stderr).toBe(0);
}

describe('memory tier', () => {
  it('never serves a value that another process replaced or deleted', () => {
    const dir = makeTempDir();
    try {
      const cache = new Cache(dir, { memory: { maxEntries: 10 } });
      cache.setSync('k', 'first');
      expect(cache.getSync('k')).toBe('first');
      expect(cache.getSync('k')).toBe('first'); // now served from memory
      inChild(dir, `cache.setSync('k', 'second');`);
      expect(cache.getSync('k')).toBe('second');
      inChild(dir, `cache.setSync('k', 'third!');`); // same size as the value before it
      expect(cache.getSync('k')).toBe('third!');
      inChild(dir, `cache.deleteSync('k');`);
      expect(cache.getSync('k')).toBeUndefined();
      inChild(dir, `cache.setSync('k', 'again');`);
      expect(cache.getSync('k')).toBe('again');
      cache.closeSync();
    } finally {
      removeDir(dir);
    }
  });

  it('forgets what it replaces and refuses bad bounds', () => {
    const dir = makeTempDir();
    try {
      const cache = new Cache(dir, { memory: { maxEntries: 2, maxBytes: 10_000 } });
      for (let i = 0; i < 5; i++) cache.setSync(i, `value ${i}`);
      for (let i = 0; i < 5; i++) expect(cache.getSync(i)).toBe(`value ${i}`);
      cache.setSync(4, 'changed');
      expect(cache.getSync(4)).toBe('changed');
      expect(() => new Cache(dir, { memory: { maxEntries: 0 } })).toThrow(RangeError);
      expect(() => new Cache(dir, { memory: { size: 1 } as never })).toThrow(TypeError);
      cache.closeSync();
    } finally {
      removeDir(dir);
    }
  });
});
