// Billing tests' fixtures: billing details, sandbox test cards, entities to bill, PDF text extraction.
import type { Test } from 'tap';
import type { Config } from '../../api/config.ts';
import { inflateSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from './app.ts';
import { startSmtpServer } from './smtp.ts';
import { entities, tasks } from '../../db/schema.ts';
import { newId } from '../../db/ids.ts';

export const DAY = 86_400_000;
export const START = new Date('2026-03-02T09:00:00Z');

export const DETAILS = {
  currency: 'USD', title: 'Ms', first_name: 'Bob', last_name: 'Smith', email: 'bob.smith@pizza.example', company_name: 'Pizza Perfecto Ltd',
  address_line1: '18 Mozarella Lane', address_line2: 'Floor 2', country: 'GB', city: 'London', zip: 'N1 7GU', phone: '+44 20 7946 0000',
  company_tax_id: 'GB307123080',
};

export const CARD = { number: '4242 4242 4242 4242', exp_month: 12, exp_year: 2030, cvc: '123', holder_name: 'Bob Smith' };
export const DECLINE = { ...CARD, number: '4000 0000 0000 0002' };
export const NO_FUNDS = { ...CARD, number: '4000000000009995' };

/** One connected task with `active` protected entities (and two unbilled ones), `bytesEach` stored per entity. */
export async function seedEntities(api: TestApp, accountId: string, active: number, bytesEach = 2_500_000_000) {
  const now = api.clock.now();
  const taskId = newId('task');
  await api.deps.db.insert(tasks).values({ id: taskId, accountId, name: 'Team', plan: 'business', connectionStatus: 'connected', createdAt: now, updatedAt: now });
  const row = (status: 'success' | 'not_active' | 'archived', i: number) => ({
    id: newId('ent'), accountId, taskId, kind: 'member' as const, dropboxId: `dbmid:${status}${i}-${randomBytes(3).toString('hex')}`, name: `Member ${i}`,
    dropboxStatus: 'active', status, sizeBytes: status === 'not_active' ? 0 : bytesEach, createdAt: now, updatedAt: now,
  });
  const rows = [...Array.from({ length: active }, (_, i) => row('success', i)), row('not_active', 900), row('archived', 901)];
  await api.deps.db.insert(entities).values(rows);
  return { taskId, ids: rows.filter((r) => r.status === 'success').map((r) => r.id) };
}

export async function addEntities(api: TestApp, accountId: string, taskId: string, n: number) {
  const now = api.clock.now();
  await api.deps.db.insert(entities).values(Array.from({ length: n }, (_, i) => ({
    id: newId('ent'), accountId, taskId, kind: 'team_folder' as const, dropboxId: `tf:${i}-${randomBytes(3).toString('hex')}`, name: `Folder ${i}`,
    dropboxStatus: 'active', status: 'success' as const, sizeBytes: 1_000_000_000, createdAt: now, updatedAt: now,
  })));
}

/** The text a PDF shows: every content stream (inflated when compressed), its TJ / Tj strings decoded. */
export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const lines: string[] = [];
  for (const m of raw.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    let content = m[1]!;
    try {
      content = inflateSync(Buffer.from(content, 'latin1')).toString('latin1');
    } catch {
      // not compressed
    }
    for (const op of content.matchAll(/\[((?:<[0-9a-fA-F]*>|[^\]])*)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj/g)) {
      const parts = op[1] !== undefined ? [...op[1].matchAll(/<([0-9a-fA-F]*)>/g)].map((p) => p[1]!) : [op[2]!];
      lines.push(parts.map((hex) => Buffer.from(hex, 'hex').toString('latin1')).join(''));
    }
  }
  return lines.join('\n');
}

export async function setup(t: Test, opts: { smtp?: boolean; config?: Partial<Config> } = {}) {
  const smtp = opts.smtp ? await startSmtpServer(t) : undefined;
  const api = await startTestApp(t, { start: START, config: { ...(smtp ? { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test' } : {}), ...opts.config } });
  const admin = await api.signUp();
  return { api, admin, smtp };
}

export async function scopedKey(api: TestApp, key: string, scopes: string[]) {
  const res = await api.request('POST', '/v1/api-keys', { key, body: { name: `scoped ${scopes.join(',')}`, scopes } });
  if (res.status !== 201) throw new Error(res.text);
  return res.body.secret as string;
}

