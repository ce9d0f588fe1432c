// A fresh database per test file, cloned from the migrated template that scripts/test.ts made.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Test } from 'tap';
import { connect, type Database } from '../../db/client.ts';

export interface TestDatabase extends Database {
  url: string;
}

export function testPgUrl(): string {
  const url = process.env.COFFER_TEST_PG_URL;
  if (!url) throw new Error('COFFER_TEST_PG_URL is not set: run tests through `npm test` (scripts/test.ts starts the database)');
  return url;
}

export async function freshDatabase(t: Test): Promise<TestDatabase> {
  const adminUrl = testPgUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${name} template ${process.env.COFFER_TEST_TEMPLATE ?? 'coffer_template'}`);
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const database = connect(url, { max: 5 });
  t.teardown(async () => {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { ...database, url };
}
