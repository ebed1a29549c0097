import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, CacheError, LockTimeoutError } from '../src/index.js';
import { removeDir } from './helpers/tmp.js';

describe('Cache', () => {
  it('opens a new temporary directory when given none', async () => {
    const a = new Cache();
    const b = new Cache();
    try {
      expect(path.isAbsolute(a.directory)).toBe(true);
      expect(
        a.directory.startsWith(fs.realpathSync(os.tmpdir())) || a.directory.startsWith(os.tmpdir()),
      ).toBe(true);
      expect(a.directory).not.toBe(b.directory);
      await a.set('k', 'v');
      expect(await a.get('k')).toBe('v');
      expect(await b.get('k')).toBeUndefined();
      expect(fs.existsSync(a.directory)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      removeDir(a.directory);
      removeDir(b.directory);
    }
  });
});

describe('errors', () => {
  it('CacheError carries a code and a named prototype', () => {
    const error = new CacheError('ECLOSED', 'the cache is closed', { directory: '/x', key: 'k' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CacheError');
    expect(error.code).toBe('ECLOSED');
    expect(error.message).toBe('diskcache-ts: the cache is closed');
    expect(error).toMatchObject({ directory: '/x', key: 'k' });
  });

  it('LockTimeoutError is a CacheError with code ELOCKTIMEOUT', () => {
    const error = new LockTimeoutError('lock "q" held for 61 s');
    expect(error).toBeInstanceOf(CacheError);
    expect(error.name).toBe('LockTimeoutError');
    expect(error.code).toBe('ELOCKTIMEOUT');
  });
});
