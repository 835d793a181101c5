import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Precompiled, rowOfSlots } from './precompiled.js';

interface Db {
  items: { id: string; kind: string; size: number | null; note: string | null };
}
const ITEM_COLUMNS = { id: true, kind: true, size: true, note: true } as const;

const open: Kysely<Db>[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.destroy();
});

async function itemsDb(): Promise<{ db: Kysely<Db>; statements: string[] }> {
  const statements: string[] = [];
  const db = new Kysely<Db>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    log: (event) => {
      statements.push(event.query.sql);
    },
  });
  open.push(db);
  await db.schema.createTable('items').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('kind', 'text', (c) => c.notNull()).addColumn('size', 'integer').addColumn('note', 'text').execute();
  statements.length = 0;
  return { db, statements };
}

describe('precompiled queries', () => {
  it('are built once, and each run binds its own values in their places, nulls included, around the constants of the build', async () => {
    const { db, statements } = await itemsDb();
    let builds = 0;
    const insert = new Precompiled((p: Db['items']) => {
      builds++;
      return db.insertInto('items').values(rowOfSlots(ITEM_COLUMNS, p));
    });
    const resize = new Precompiled((p: { id: string; size: number | null }) => {
      builds++;
      return db.updateTable('items').set({ size: p.size, note: 'resized' }).where('id', '=', p.id).where('kind', '=', 'box');
    });
    const byKind = new Precompiled((p: { kind: string; above: number }) => {
      builds++;
      return db.selectFrom('items').selectAll().where('kind', '=', p.kind).where('size', '>', p.above).orderBy('id');
    });

    await insert.run(db, { id: 'a', kind: 'box', size: 1, note: null });
    await insert.run(db, { id: 'b', kind: 'box', size: 5, note: 'big' });
    await insert.run(db, { id: 'c', kind: 'bag', size: 9, note: null });
    expect((await resize.run(db, { id: 'a', size: 7 })).numAffectedRows).toBe(1n);
    // The constant of the build (kind = 'box') still holds: a bag is not resized.
    expect((await resize.run(db, { id: 'c', size: null })).numAffectedRows).toBe(0n);
    expect((await byKind.run(db, { kind: 'box', above: 2 })).rows).toEqual([
      { id: 'a', kind: 'box', size: 7, note: 'resized' },
      { id: 'b', kind: 'box', size: 5, note: 'big' },
    ]);
    expect((await byKind.run(db, { kind: 'bag', above: 2 })).rows).toEqual([{ id: 'c', kind: 'bag', size: 9, note: null }]);
    expect(builds).toBe(3);
    // Runs of one query send one SQL text.
    expect(new Set(statements).size).toBe(3);
  });

  it('run inside a transaction, and roll back with it', async () => {
    const { db } = await itemsDb();
    const insert = new Precompiled((p: Db['items']) => db.insertInto('items').values(rowOfSlots(ITEM_COLUMNS, p)));
    await expect(
      db.transaction().execute(async (trx) => {
        await insert.run(trx, { id: 'x', kind: 'box', size: null, note: null });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await db.transaction().execute((trx) => insert.run(trx, { id: 'y', kind: 'box', size: null, note: null }));
    expect(await db.selectFrom('items').select('id').execute()).toEqual([{ id: 'y' }]);
  });
});
