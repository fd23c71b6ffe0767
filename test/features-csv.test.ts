// The feature CSV reader's one-pass path against csv-parse, which reads whatever that path declines: on every
// input the two give the same columns, values and start lines, or both fail.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { readFlatFile, type FlatInput } from '../src/features/flatfile.js';

/** What csv-parse makes of a text: the reader's rows and start lines before the one-pass path existed. */
function reference(path: string, text: string, delimiter: string): FlatInput | 'error' {
  let parsed: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    parsed = parse(text, { delimiter, skip_empty_lines: true, info: true, raw: true }) as unknown as typeof parsed;
  } catch {
    return 'error';
  }
  if (parsed.length === 0) return 'error';
  const columns = parsed[0].record.map((h) => h.trim());
  const rows = parsed.slice(1).map(({ record: r }) => columns.map((_, i) => (r[i] === undefined || r[i] === '' ? null : r[i])));
  const lines = parsed.slice(1).map(({ info, raw }) => info.lines - (raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '').split('\n').length - 1));
  return { source: path, columns, rows, lines };
}

async function both(text: string, delimiter = ','): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'talab-csv-'));
  try {
    const f = join(dir, 'in.csv');
    writeFileSync(f, text);
    const want = reference(f, text, delimiter);
    const got = await readFlatFile(f).catch(() => 'error' as const);
    assert.deepEqual(got, want, JSON.stringify(text));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('CSV: the one-pass reader and csv-parse agree on hand-picked inputs', async () => {
  for (const text of [
    'symbol,data_date,x\nA,2024-01-01,1\nB,2024-01-02,\n',
    'symbol,data_date,x\nA,2024-01-01,1\nB,2024-01-02,2',
    'symbol,data_date,x\n\nA,2024-01-01,1\n\n\nB,2024-01-02,2\n\n',
    'symbol,data_date,x\r\nA,2024-01-01,1\r\n\r\nB,2024-01-02,2\r\n',
    'symbol,data_date,x\n"A ""q""",2024-01-01,"1"\n"B\nmulti\nline",2024-01-02,""\nC,2024-01-03,3\n',
    'symbol,data_date,x\nA,2024-01-01\nB,2024-01-02,2\n',
    'symbol,data_date,x\nA"b,2024-01-01,1\n',
    'symbol,data_date,x\n"A,2024-01-01,1\n',
    'symbol,data_date,x\n"A"b,2024-01-01,1\n',
    'symbol,data_date,x\r\nA,2024-01-01,1\nB,2024-01-02,2\r\n',
    'symbol,data_date,x\rA,2024-01-01,1\r',
    'symbol,data_date,x\n',
    'symbol,data_date,x,\nA,2024-01-01,1,\n',
    'symbol , data_date,x\n A ,2024-01-01, 1 \n',
    'symbol,data_date,x\nA,2024-01-01,1\n   \nB,2024-01-02,2\n',
  ]) await both(text);
  await both('symbol;data_date;x\nA;2024-01-01;1,5\n', ';');
  await both('symbol\tdata_date\tx\nA\t2024-01-01\t1\n', '\t');
});

test('CSV: the one-pass reader and csv-parse agree on generated inputs (property)', async () => {
  const field = fc.oneof(
    fc.constantFrom('', 'A', '1.5', 'x y', '""', '"a,b"', '"l1\nl2"', '"q""q"', 'a"b', '"open'),
    fc.stringMatching(/^[a-z0-9.,"\n -]{0,6}$/),
  );
  const record = fc.array(field, { minLength: 2, maxLength: 4 }).map((r) => r.join(','));
  await fc.assert(fc.asyncProperty(
    fc.array(fc.oneof(record, fc.constant('')), { minLength: 0, maxLength: 6 }), fc.constantFrom('\n', '\r\n'), fc.boolean(),
    async (recs, eol, lastEol) => {
      const text = ['symbol,data_date,x', ...recs].join(eol) + (lastEol ? eol : '');
      await both(text);
    },
  ), { numRuns: 300 });
});
