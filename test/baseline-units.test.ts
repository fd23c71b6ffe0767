// Pure parts of `talab baseline`: the tolerance rule and its severities (ops.md §C.7 examples and the
// strict boundaries), column families read from the schema, series shapes for sampling, flag parsing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { gitInfo, packageRoot } from '../src/baseline/metadata.js';
import { fractionThreshold, seriesShape } from '../src/baseline/sample.js';
import { timestampSuffix, snapshotName } from '../src/baseline/snapshot.js';
import {
  comparedColumns, familyOf, maxSeverity, relDiff, severityOfRel, skippedColumns, TOLERANCES, withinTolerance,
} from '../src/baseline/tolerance.js';
import { fractionArg } from '../src/cli/baseline.js';
import { BAR_TABLES, DERIVED_TABLES, EMA_TABLES, priceBars1d } from '../src/schema/tables.js';

const P = TOLERANCES.price;
const V = TOLERANCES.volume;

test('hybrid tolerance: the predecessor verified examples (ops.md §C.7)', () => {
  assert.equal(withinTolerance(100, 100.0005, P), true, 'threshold 1.000005e-3');
  assert.equal(withinTolerance(50000, 50000.6, P), false, 'threshold 0.500006');
  assert.ok(Math.abs(relDiff(50000, 50000.6) - 1.2e-5) < 1e-12);
  assert.equal(severityOfRel(relDiff(50000, 50000.6)), 'WARNING');
  assert.equal(withinTolerance(1.0, 1.02, P), false);
  assert.equal(severityOfRel(relDiff(1.0, 1.02)), 'CRITICAL');
  assert.equal(withinTolerance(NaN, NaN, P), true);
  assert.equal(withinTolerance(NaN, 3, V), false);
  assert.equal(withinTolerance(null, null, P), true, 'NULL = NULL');
  assert.equal(withinTolerance(null, 1, P), false, 'NULL against a value is a mismatch');
  assert.equal(withinTolerance(Infinity, Infinity, P), true);
  assert.equal(withinTolerance(Infinity, -Infinity, P), false);
});

test('hybrid tolerance: atol governs near zero, rtol for large values; volume family is looser', () => {
  assert.equal(withinTolerance(0, 1e-6, P), true);
  assert.equal(withinTolerance(0, 1.1e-6, P), false);
  assert.equal(withinTolerance(0, 0.01, V), true);
  assert.equal(withinTolerance(0, 0.011, V), false);
  assert.equal(withinTolerance(1e9, 1e9 * (1 + 9e-5), V), true);
  assert.equal(withinTolerance(1e9, 1e9 * (1 + 9e-5), P), false);
});

test('hybrid tolerance is symmetric and reflexive (property)', () => {
  const val = fc.oneof(fc.double({ noNaN: false }), fc.constant(null));
  fc.assert(fc.property(val, val, (a, b) => {
    assert.equal(withinTolerance(a, b, P), withinTolerance(b, a, P));
    assert.equal(withinTolerance(a, a, P), true);
  }));
});

test('severity: strict thresholds at 1e-5 and 1 %, and undefined differences are CRITICAL', () => {
  assert.equal(severityOfRel(0), 'INFO');
  assert.equal(severityOfRel(1e-5), 'INFO');
  assert.equal(severityOfRel(1.0000001e-5), 'WARNING');
  assert.equal(severityOfRel(0.01), 'WARNING');
  assert.equal(severityOfRel(0.0100001), 'CRITICAL');
  assert.equal(severityOfRel(null), 'CRITICAL');
  assert.equal(severityOfRel(NaN), 'CRITICAL');
  assert.equal(maxSeverity(['INFO', 'WARNING', 'INFO']), 'WARNING');
  assert.equal(maxSeverity([]), 'INFO');
});

test('column families come from the schema: volume/market_cap doubles, other doubles, exact', () => {
  const bars = comparedColumns(BAR_TABLES.multi_tf);
  const fam = (n: string) => bars.find((c) => c.name === n)?.family;
  assert.equal(fam('volume'), 'volume');
  assert.equal(fam('market_cap'), 'volume');
  assert.equal(fam('close'), 'price');
  assert.equal(fam('is_partial_end'), 'exact');
  assert.equal(fam('time_open'), 'exact');
  assert.equal(fam('count_days'), 'exact');
  assert.equal(fam('missing_days_where'), 'exact');
  assert.equal(familyOf({ name: 'ema', type: 'double' }), 'price');
  const ema = comparedColumns(EMA_TABLES.cal_anchor_us);
  for (const n of ['ema', 'ema_bar', 'd1', 'd2_roll_bar']) assert.equal(ema.find((c) => c.name === n)?.family, 'price', n);
  for (const t of DERIVED_TABLES) {
    const names = comparedColumns(t).map((c) => c.name);
    for (const k of t.key) assert.ok(!names.includes(k), `${t.name}: key column ${k} is compared by the join`);
    assert.ok(!names.includes('ingested_at'), `${t.name}: ingested_at is a write stamp`);
    assert.deepEqual(skippedColumns(t).map((c) => c.name), ['ingested_at']);
    assert.equal(names.length + t.key.length + 1, t.columns.length, `${t.name}: every other column is compared`);
    assert.ok(comparedColumns(t).some((c) => c.family === 'price'), t.name);
  }
});

test('series shapes for sampling: windows per (id), (id, tf) and (id, tf, period)', () => {
  assert.deepEqual(seriesShape(priceBars1d), { time: 'ts', series: ['id'] });
  for (const t of Object.values(BAR_TABLES)) assert.deepEqual(seriesShape(t), { time: 'time_close', series: ['id', 'tf'] });
  for (const t of Object.values(EMA_TABLES)) assert.deepEqual(seriesShape(t), { time: 'ts', series: ['id', 'tf', 'period'] });
});

test('sampling threshold: the fraction of the 32-bit md5 prefix range', () => {
  assert.equal(fractionThreshold(0.5), '80000000');
  assert.equal(fractionThreshold(0.05), '0ccccccc');
  assert.equal(fractionThreshold(0), '00000000');
  assert.equal(fractionThreshold(1), 'ffffffff');
});

test('snapshot names: <table>_snapshot_<YYYYMMDD_HHMMSS> in UTC, within Postgres identifier length', () => {
  const at = new Date(Date.UTC(2026, 1, 5, 14, 30, 22));
  assert.equal(timestampSuffix(at), '20260205_143022');
  assert.equal(snapshotName(priceBars1d, '20260205_143022'), 'price_bars_1d_snapshot_20260205_143022');
  for (const t of DERIVED_TABLES) assert.ok(snapshotName(t, '20260205_143022_99').length <= 63, t.name);
});

test('--sample-random-pct takes a fraction or a percentage and refuses anything else', () => {
  assert.equal(fractionArg('0.05'), 0.05);
  assert.equal(fractionArg('5%'), 0.05);
  assert.equal(fractionArg('.5'), 0.5);
  assert.equal(fractionArg('1'), 1);
  assert.equal(fractionArg('0'), 0);
  assert.throws(() => fractionArg('5'), /above 100 %/);
  assert.throws(() => fractionArg('150%'), /above 100 %/);
  assert.throws(() => fractionArg('-0.1'), /fraction/);
  assert.throws(() => fractionArg('abc'), /fraction/);
});

test('git metadata outside a repository: no commit, a reason, no throw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-nogit-'));
  const g = await gitInfo(dir);
  assert.equal(g.commit, null);
  assert.equal(g.dirty, null);
  assert.match(g.error ?? '', /not a git repository|git is not installed/);
});

test('the package root is found from the baseline module (version and drivers are read there)', () => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'talab');
});
