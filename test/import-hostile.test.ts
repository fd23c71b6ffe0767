// Import of hostile or damaged input: days that do not exist, duplicated headers, offsets, implausible dates,
// NUL bytes, truncated quotes, binary and UTF-16 files, files whose every row is rejected.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { printable } from '../src/util/text.js';
import { UserError } from '../src/util/errors.js';
import { engineTest } from './helpers/engines.js';

const tmp = mkdtempSync(join(tmpdir(), 'talab-hostile-'));
function write(name: string, content: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}
const CMC_HEADER = 'timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp';
function cmcLine(day: string, close = 11, ts = `${day}T23:59:59.999Z`): string {
  return `"${day}T00:00:00.000Z";"${day}T23:59:59.999Z";"${day}T12:00:00.000Z";"${day}T06:00:00.000Z";"2781";10;12;9;${close};1000;5000;"${ts}"`;
}
const day = (s: string) => Date.parse(s + 'T00:00:00Z') / 86_400_000;

test('a calendar date that does not exist is a reject, never another day', async () => {
  const f = write('baddates.csv', ['date,open,high,low,close,volume', '2025-02-28,1,2,1,1.5,10', '2025-02-30,1,2,1,1.5,10',
    '2025-06-31,1,2,1,1.5,10', '2024-02-29,1,2,1,1.5,10', '2023-02-29,1,2,1,1.5,10', '2025-13-01,1,2,1,1.5,10'].join('\n'));
  const p = await parseSourceFile(f);
  assert.deepEqual(p.rows.map((r) => new Date(r.ts).toISOString().slice(0, 10)), ['2024-02-29', '2025-02-28']);
  assert.deepEqual(p.rejects.map((r) => r.line), [3, 4, 6, 7]);
  assert.match(p.rejects[0].reason, /bad timestamp '2025-02-30' in column date \(no such calendar date\)/);
  const cmc = await parseSourceFile(write('baddates-cmc.csv', [CMC_HEADER, cmcLine('2025-01-01'), cmcLine('2025-01-02', 11, '2025-02-30T23:59:59.999Z'), cmcLine('2025-01-03', 11, '2025-01-03T24:59:59.999Z')].join('\n')));
  assert.equal(cmc.rows.length, 1);
  assert.deepEqual(cmc.rejects.map((r) => r.reason.replace(/ '.*' /, ' ')), [
    'bad timestamp in column timestamp (no such calendar date)', 'bad timestamp in column timestamp (no such time of day)',
  ]);
});

test('a duplicated or ambiguous header is a file-level error naming the column', async () => {
  await assert.rejects(parseSourceFile(write('dup.csv', 'date,open,high,low,close,volume,close\n2025-01-01,1,2,1,1.5,10,1\n')),
    (e: Error) => e instanceof UserError && /column 'close' \(column 7\) duplicates 'close' \(column 5\)/.test(e.message));
  await assert.rejects(parseSourceFile(write('amb.csv', 'date,day,open,high,low,close\n2025-01-01,2025-01-02,1,2,1,1.5\n')),
    (e: Error) => e instanceof UserError && /column 'day' \(column 2\) duplicates 'date' \(column 1\)/.test(e.message));
});

test('non-UTC offsets are converted to UTC and said so; implausible and future dates are rejects', async () => {
  const p = await parseSourceFile(write('offsets.csv', ['timestamp,open,high,low,close,volume',
    '2025-01-01T23:00:00-02:00,1,2,1,1.5,10', // 2025-01-02T01:00Z: the next UTC day
    '2025-01-03T12:00:00+02:00,1,2,1,1.5,10',
    '2025-01-04T00:00:00Z,1,2,1,1.5,10',
    '0001-01-01,1,2,1,1.5,10', '1900-01-01,1,2,1,1.5,10', '2025-01-10,1,2,1,1.5,10'].join('\n')), { today: day('2025-01-09') });
  assert.deepEqual(p.rows.map((r) => new Date(r.ts).toISOString().slice(0, 10)), ['2025-01-02', '2025-01-03', '2025-01-04']);
  assert.ok(p.warnings.some((w) => /2 timestamps carry a non-UTC offset and were converted to UTC; 1 of them fall on another UTC day/.test(w)), p.warnings.join('|'));
  assert.deepEqual(p.rejects.map((r) => r.reason), [
    'implausible date 0001-01-01: before 1950-01-01', 'implausible date 1900-01-01: before 1950-01-01',
    'date 2025-01-10 is in the future (today is 2025-01-09 UTC)',
  ]);
  // Crypto (CoinMarketCap) rows before the genesis block need --allow-early.
  const f = write('early.csv', [CMC_HEADER, cmcLine('2008-12-31'), cmcLine('2009-01-03')].join('\n'));
  const strict = await parseSourceFile(f);
  assert.equal(strict.rows.length, 1);
  assert.match(strict.rejects[0].reason, /implausible date 2008-12-31: before 2009-01-03 \(--allow-early/);
  assert.equal((await parseSourceFile(f, { allowEarly: true })).rows.length, 2);
});

test('a last line cut inside quotes: the good rows load, the cut line is a reject', async () => {
  const lines = [CMC_HEADER, cmcLine('2025-01-01'), cmcLine('2025-01-02'), cmcLine('2025-01-03').slice(0, 40)];
  const p = await parseSourceFile(write('cut.csv', lines.join('\n')));
  assert.equal(p.rows.length, 2);
  assert.equal(p.rejects.length, 1);
  assert.equal(p.rejects[0].line, 4);
  assert.match(p.rejects[0].reason, /quote not closed/);
  assert.equal(p.lines, 3);
  const crlf = await parseSourceFile(write('cut-crlf.csv', lines.join('\r\n')));
  assert.deepEqual([crlf.rows.length, crlf.rejects[0]?.line], [2, 4]);
});

test('a CRLF export with one bare LF appended loads its last row', async () => {
  const p = await parseSourceFile(write('crlf-lf.csv', [CMC_HEADER, cmcLine('2025-01-01'), cmcLine('2025-01-02')].join('\r\n') + '\n'));
  assert.equal(p.rows.length, 2);
  assert.equal(p.rejects.length, 0);
});

test('UTF-16 and binary files: a clear error naming the encoding, no raw bytes', async () => {
  const text = 'date,open,high,low,close\n2025-01-01,1,2,1,1.5\n';
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  await assert.rejects(parseSourceFile(write('u16.csv', le)), /u16\.csv: file is UTF-16 encoded \(byte-order mark FF FE\); save it as UTF-8/);
  await assert.rejects(parseSourceFile(write('u16nobom.csv', Buffer.from(text, 'utf16le'))), /file looks UTF-16 encoded \(little-endian/);
  const bin = Buffer.alloc(300);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 37) % 256;
  await assert.rejects(parseSourceFile(write('bin.csv', bin)), (e: Error) => /bin\.csv: binary file, not UTF-8 CSV text/.test(e.message) && !/[\x00-\x08\x1b]/.test(e.message));
  await assert.rejects(parseSourceFile(write('esc.csv', '\x1b[31mred\x1b[0m\n1\n')), (e: Error) => /\\x1b\[31mred/.test(e.message) && !e.message.includes('\x1b'));
  assert.equal(printable('a\x00b\x1bc\u2028'), 'a\\x00b\\x1bc\\u2028');
});

engineTest('a NUL byte in a rejected line is stored escaped; the good rows load on both engines', async ({ store }) => {
  const f = write('nul.csv', [CMC_HEADER, cmcLine('2025-01-01'), cmcLine('2025-01-02').replace('10;12', '1\x000;12'), cmcLine('2025-01-03')].join('\n'));
  const r = await importFile(store, f, { id: 960, symbol: 'NUL' });
  assert.deepEqual([r.inserted, r.rejected], [2, 1]);
  const rj = await store.query<{ raw: string; reason: string }>('SELECT raw, reason FROM import_rejects WHERE id = 960');
  assert.equal(rj.length, 1);
  assert.ok(rj[0].raw.includes('1\\x000'), rj[0].raw);
  assert.ok(!rj[0].raw.includes('\x00') && !rj[0].reason.includes('\x00'));
});

test('CLI: a file whose every row is rejected exits 1 and says so; a failing file never stops the next', async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = join(import.meta.dirname, '../src/cli/main.ts');
  const db = join(tmp, 'cli.duckdb');
  const all = write('allbad.csv', ['date,open,high,low,close,volume', '2025-02-30,1,2,1,1.5,10', '2025-01-01,x,2,1,1,1'].join('\n'));
  const good = write('fine.csv', ['date,open,high,low,close,volume', '2025-01-01,1,2,1,1.5,10'].join('\n'));
  const u16 = write('wide.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('date,open\n', 'utf16le')]));
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, '--db', db, 'import', '--id', '970', '--symbol', 'AB', all, u16, good], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /allbad\.csv: every one of its 2 rows was rejected; nothing loaded/);
  assert.match(r.stderr, /wide\.csv: file is UTF-16 encoded/);
  assert.match(r.stdout, /fine\.csv → AB \(id 970\).*1 inserted/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('Binance kline dumps (headerless, ms or µs open time, or with a header) load; bad rows are line-numbered rejects', async () => {
  const fixture = join(import.meta.dirname, 'fixtures/binance/BTCUSDT-1d-2024-01.csv');
  const p = await parseSourceFile(fixture);
  assert.match(p.format, /^binance kline/);
  assert.deepEqual(p.rows.map((r) => new Date(r.ts).toISOString().slice(0, 10)), ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05']);
  assert.deepEqual([p.rows[0].open, p.rows[0].high, p.rows[0].low, p.rows[0].close, p.rows[0].volume], [42283.58, 44184.1, 42180.77, 44179.55, 27174.29903]);
  assert.ok(Number.isNaN(p.rows[0].marketCap));
  assert.ok(p.warnings.some((w) => /ignored unknown columns: close_time, quote_volume, count/.test(w)), p.warnings.join('|'));
  const lines = (await import('node:fs')).readFileSync(fixture, 'utf8').trim().split('\n');
  const micro = lines[0].replace('1704067200000,', '1704067200000000,');
  const bad = [micro, lines[1].replace('44179.55', 'x'), '17041536000,1,2,1,1,1,0,0,0,0,0,0', lines[3]];
  const q = await parseSourceFile(write('BTCUSDT-1d-bad.csv', bad.join('\n')));
  assert.deepEqual(q.rows.map((r) => r.line), [1, 4]);
  assert.deepEqual(q.rejects.map((r) => [r.line, r.reason]), [
    [2, "non-numeric open 'x000000'"],
    [3, "bad timestamp '17041536000' in column open_time (not epoch milliseconds or microseconds)"],
  ]);
  const headed = await parseSourceFile(write('BTCUSDT-futures.csv', ['open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore', ...lines].join('\n')));
  assert.equal(headed.rows.length, 5);
  assert.equal(headed.rows[0].line, 2);
});
