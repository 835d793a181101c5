/**
 * grammY's `StorageAdapter` over a folder of JSON files, one per key. Each write goes to a
 * temporary file that is then renamed over the old one, so a crash mid-write leaves the previous
 * value, never a torn file; `durable` also flushes it to disk first (for what must survive a power
 * cut: the payments being followed). Unlike @grammyjs/storage-file it lists its entries, which the
 * bot needs at start to re-follow the payments still open.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageAdapter } from 'grammy';

const SUFFIX = '.json';

export class JsonFileStorage<T> implements StorageAdapter<T> {
  constructor(
    private readonly dir: string,
    private readonly options: {
      durable?: boolean;
      /** Whether a value read has the shape written; one that has not is treated as absent. */
      accept?: (value: unknown) => boolean;
    } = {},
  ) {
    mkdirSync(dir, { recursive: true });
  }

  async read(key: string): Promise<T | undefined> {
    return this.readFile(this.path(key));
  }

  async write(key: string, value: T): Promise<void> {
    const file = this.path(key);
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(value));
      if (this.options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async has(key: string): Promise<boolean> {
    return (await this.read(key)) !== undefined;
  }

  async *readAllKeys(): AsyncIterable<string> {
    for (const name of await readdir(this.dir)) {
      if (name.endsWith(SUFFIX)) yield decodeURIComponent(name.slice(0, -SUFFIX.length));
    }
  }

  async *readAllEntries(): AsyncIterable<[key: string, value: T]> {
    for await (const key of this.readAllKeys()) {
      const value = await this.read(key);
      if (value !== undefined) yield [key, value];
    }
  }

  async *readAllValues(): AsyncIterable<T> {
    for await (const [, value] of this.readAllEntries()) yield value;
  }

  private path(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}${SUFFIX}`);
  }

  private async readFile(file: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Not written by this class (renames are atomic): treat it as absent rather than wedge the chat.
      return undefined;
    }
    // Likewise a file edited by hand into another shape (`null`, `{}`): absent, not a crash or a loop.
    if (value === null || typeof value !== 'object' || (this.options.accept && !this.options.accept(value))) return undefined;
    return value as T;
  }
}
