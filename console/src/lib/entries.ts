// Decoding ledger entries for display. Entries are RFC 8785 JSON:
// {"actor","body","confidential"?,"time","type"} (docs/LEDGER.md).

export interface LedgerEntry {
  type?: string;
  actor?: string;
  time?: string;
  body?: Record<string, unknown>;
}

export function entrySummary(e: LedgerEntry): string {
  const b = e.body ?? {};
  const parts: string[] = [];
  for (const k of ['decision', 'reviewer', 'login', 'target', 'command', 'text', 'session', 'end_reason', 'action', 'resource']) {
    const v = b[k];
    if (typeof v === 'string' && v) parts.push(`${k}=${v.length > 80 ? v.slice(0, 77) + '…' : v}`);
  }
  return parts.join(' · ');
}
