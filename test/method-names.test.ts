import { describe, expect, it } from 'vitest';
import {
  Averager,
  BoundedSemaphore,
  Cache,
  Deque,
  FanoutCache,
  Index,
  Lock,
  MemoryCache,
  RLock,
  TieredCache,
} from '../src/index.js';

/** Methods installed in pairs still say who they are: in stack traces and to `fn.name`. */
const CLASSES: [string, { prototype: object }][] = [
  ['Cache', Cache],
  ['FanoutCache', FanoutCache],
  ['MemoryCache', MemoryCache],
  ['Deque', Deque],
  ['Index', Index],
  ['Lock', Lock],
  ['RLock', RLock],
  ['BoundedSemaphore', BoundedSemaphore],
  ['Averager', Averager],
  ['TieredCache', TieredCache],
];

describe('method names', () => {
  it.each(CLASSES)('every method of %s is named after itself', (_name, type) => {
    const wrong: string[] = [];
    for (const key of Reflect.ownKeys(type.prototype)) {
      if (key === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(type.prototype, key);
      if (typeof descriptor?.value !== 'function') continue;
      const expected = typeof key === 'symbol' ? `[${key.description}]` : key;
      if (descriptor.value.name !== expected) wrong.push(`${String(key)} is named ${descriptor.value.name}`);
    }
    expect(wrong).toEqual([]);
  });
});
