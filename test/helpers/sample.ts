// Small real histories cut from the bundled data/sample exports, so behaviour tests run in a plain clone.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE } from './engines.js';

export type SampleCoin = 'bitcoin' | 'ethereum' | 'solana' | 'mantle' | 'wrapped-bitcoin';

/** CMC ids the importer gives the sample files (from their names). */
export const SAMPLE_IDS: Record<SampleCoin, number> = {
  bitcoin: 1, ethereum: 1027, solana: 5426, mantle: 27075, 'wrapped-bitcoin': 3717,
};

export function samplePath(coin: SampleCoin): string {
  return join(SAMPLE, `${coin}.csv`);
}

/**
 * `<dir>/<coin>.csv` holding the last `days` rows (by day) of the bundled export, byte for byte in its own
 * format (BOM, line ends, row order, quoting), so the importer sees the same kind of file, only shorter.
 */
export function sampleSlice(coin: SampleCoin, days: number, dir = mkdtempSync(join(tmpdir(), 'talab-sample-'))): string {
  const text = readFileSync(samplePath(coin), 'utf8');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const header = lines[0];
  const rows = lines.slice(1).filter((l) => l.trim() !== '');
  const day = (l: string) => l.replace(/^"/, '').slice(0, 10);
  const keep = new Set([...rows].sort((a, b) => day(a).localeCompare(day(b))).slice(-days));
  const body = rows.filter((l) => keep.has(l));
  const finalNewline = text.endsWith(eol);
  const out = join(dir, `${coin}.csv`);
  writeFileSync(out, [header, ...body].join(eol) + (finalNewline ? eol : ''));
  return out;
}
