import { type Op, runAsync, runSync } from './runner.js';

/** The Promise-returning surface of a table of operations written with synchronous signatures. */
export type AsyncSurface<M> = {
  [K in keyof M]: M[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** The synchronous surface of a table of operations: the same names with a `Sync` suffix. */
export type SyncSurface<M> = { [K in keyof M as `${K & string}Sync`]: M[K] };

/**
 * How the instances of a class run an operation of its table, made from what the operations work
 * on (`make(state)`): once per surface.
 */
export interface Drive<T, S> {
  sync<R>(self: T, make: (state: S) => Op<R>): R;
  async<R>(self: T, make: (state: S) => Op<R>): Promise<R>;
}

/**
 * The drive of operations that do no file-system I/O (they call methods of caches, user code,
 * sleep), over `select(self)`; it may read private fields when written in the class's static block.
 */
export function over<T, S>(select: (self: T) => S): Drive<T, S> {
  return {
    sync: (self, make) => runSync(undefined, make(select(self))),
    async: async (self, make) => runAsync(undefined, make(select(self))),
  };
}

/**
 * Defines method `key` on `prototype` as a class body would (writable, configurable, not
 * enumerable), named after its key so that stack traces and `fn.name` say which method it is.
 */
export function defineMethod(
  prototype: object,
  key: string | symbol,
  fn: (...args: never[]) => unknown,
): void {
  const name = typeof key === 'symbol' ? `[${key.description}]` : key;
  Object.defineProperty(fn, 'name', { value: name, configurable: true });
  Object.defineProperty(prototype, key, { value: fn, writable: true, configurable: true });
}

/**
 * Installs `name()` (a Promise) and `nameSync()` on `target.prototype` for each operation of
 * `table`, each written once as a generator of effects and run by `drive`.
 */
export function installTwins<T extends object, S>(
  target: { prototype: T },
  table: { readonly [name: string]: (state: S, ...args: never[]) => Op<unknown> },
  drive: Drive<T, S>,
): void {
  for (const [name, operation] of Object.entries(table)) {
    const op = operation as (state: S, ...args: unknown[]) => Op<unknown>;
    defineMethod(target.prototype, name, function (this: T, ...args: unknown[]) {
      return drive.async(this, (state) => op(state, ...args));
    });
    defineMethod(target.prototype, `${name}Sync`, function (this: T, ...args: unknown[]) {
      return drive.sync(this, (state) => op(state, ...args));
    });
  }
}
