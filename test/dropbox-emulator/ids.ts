// Deterministic id sources so seeded teams look the same on every run.

export class IdSource {
  private fileIds = 0;
  private revs = 0;
  private namespaces = 0;
  private members = 0;
  private opaque = 0;

  /** `id:` + 22 base64url chars, like "id:a4ayc_80_OEAAAAAAAAAXw". */
  nextFileId(): string {
    const buf = Buffer.alloc(16);
    buf.writeUInt32BE(0x6b8f3a21, 0);
    buf.writeUInt32BE(++this.fileIds, 12);
    return 'id:' + buf.toString('base64url');
  }

  /** Hex, at least 9 chars, strictly increasing (Dropbox revs are opaque; only uniqueness matters). */
  nextRev(): string {
    return (0x15a0000000 + ++this.revs).toString(16);
  }

  nextNamespaceId(): string {
    return String(3_000_000_000 + ++this.namespaces * 17);
  }

  /** Returns [team_member_id, account_id]. */
  nextMemberIds(): [string, string] {
    const n = ++this.members;
    const tail = n.toString(36).padStart(6, '0');
    return [`dbmid:AAD${tail}mEmUlAtOr0000000000000000000`, `dbid:AAC${tail}aCcOuNt00000000000000000000000`];
  }

  /** Unique opaque token material (tokens, codes, session ids). Not secret: this is a test fake. */
  nextOpaque(prefix: string): string {
    const buf = Buffer.alloc(18);
    buf.writeUInt32BE(++this.opaque, 0);
    for (let i = 4; i < 18; i++) buf[i] = Math.floor(Math.random() * 256);
    return prefix + buf.toString('base64url');
  }
}

/** Dropbox timestamps: UTC, second precision, no fractional part. */
export function dropboxTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
