// The few calls the benchmark makes into competitors that ship no types.

declare module 'cacache' {
  const cacache: {
    put(cache: string, key: string, data: string | Uint8Array): Promise<string>;
    get(cache: string, key: string): Promise<{ data: Buffer }>;
    rm: { entry(cache: string, key: string): Promise<void> };
  };
  export default cacache;
}

declare module 'node-persist' {
  interface LocalStorage {
    init(): Promise<unknown>;
    setItem(key: string, value: unknown): Promise<unknown>;
    getItem(key: string): Promise<string | undefined>;
    removeItem(key: string): Promise<unknown>;
  }
  const nodePersist: { create(options: { dir: string }): LocalStorage };
  export default nodePersist;
}

declare module 'better-sqlite3' {
  interface Statement<P extends unknown[] = unknown[], R = unknown> {
    run(...params: P | unknown[]): unknown;
    get(...params: P): R | undefined;
  }
  class Database {
    constructor(path: string);
    pragma(sql: string): unknown;
    exec(sql: string): void;
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
    transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
    close(): void;
  }
  export default Database;
}
