import { createHash } from 'node:crypto';
import type { Key } from '../../src/index.js';

/**
 * A stable text form of a key, for comparing keys of mixed types (`1`, `1n`, `'1'` and bytes differ).
 * Long keys are shortened to their length and a digest, so that failure messages stay readable.
 */
export function keyId(key: unknown): string {
  let id: string;
  if (key instanceof Uint8Array) {
    id = `bytes:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`;
  } else if (typeof key === 'number') id = `number:${Object.is(key, -0) ? '-0' : String(key)}`;
  else id = `${typeof key}:${String(key)}`;
  if (id.length <= 200) return id;
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return `${id.slice(0, 40)}… (${id.length} characters, sha256 ${digest})`;
}

/** Sorted {@link keyId}s. */
export function keyIds(keys: Iterable<unknown>): string[] {
  return [...keys].map(keyId).sort();
}

/** Keys of every kind, all distinct. */
export function sampleKeys(): Key[] {
  return [
    0,
    1,
    -1,
    1.5,
    2 ** 53,
    -1e300,
    Number.POSITIVE_INFINITY,
    '',
    '1',
    'hello',
    'ünïcødé 🎉',
    'a\u0000b',
    0n,
    1n,
    -5n,
    2n ** 512n,
    Buffer.alloc(0),
    Buffer.from('1'),
    Buffer.from([0, 255, 128]),
  ];
}

/**
 * Values of every kind the default (structured) codec stores, by name. Deterministic, so that two
 * processes can build the same list and compare.
 */
export function sampleValues(): [name: string, value: unknown][] {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  return [
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['negative zero', -0],
    ['integer', 1234],
    ['float', 56.78],
    ['NaN', Number.NaN],
    ['infinity', Number.NEGATIVE_INFINITY],
    ['max safe integer', Number.MAX_SAFE_INTEGER],
    ['bigint', 2n ** 512n],
    ['negative bigint', -(2n ** 70n)],
    ['empty string', ''],
    ['string', 'hello'],
    ['unicode string', 'ünïcødé 🎉 \u0000 end'],
    ['long string', 'hello'.repeat(2 ** 18)],
    ['empty buffer', Buffer.alloc(0)],
    ['buffer', Buffer.from('world')],
    ['buffer of every byte', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['empty object', {}],
    ['object', { a: 1, b: 'two', c: [3, 4], d: { e: null } }],
    ['empty array', []],
    ['array', [1, 'two', null, [3], { four: 4 }]],
    ['sparse-free large array', Array.from({ length: 2 ** 16 }, (_, i) => i)],
    [
      'map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
      ]),
    ],
    ['set', new Set([1, 'two', 3n])],
    ['date', new Date(Date.UTC(2020, 1, 29, 12, 34, 56, 789))],
    ['regexp', /ab+c/giu],
    ['Float64Array', new Float64Array([1.5, -2, Number.NaN])],
    ['Int16Array', new Int16Array([-1, 2, 32767])],
    ['BigInt64Array', new BigInt64Array([-1n, 2n ** 62n])],
    [
      'nested',
      {
        list: [1, { map: new Map([['set', new Set([new Date(0)])]]) }],
        when: new Date(86_400_000),
        pattern: /x/g,
        big: 10n ** 30n,
        bytes: new Uint8Array([1, 2, 3]),
        nothing: null,
        missing: undefined,
      },
    ],
    ['circular', circular],
  ];
}
