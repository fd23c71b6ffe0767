// Creates or upgrades the schema, seeds dim_timeframe, and (re)creates the tidy views and every comment. Safe to run any number of times: tables are
// created IF NOT EXISTS, columns added since are ADDed IF NOT EXISTS, the catalog is upserted.
import { TIMEFRAMES } from '../catalog/timeframes.js';
import { addColumnSql, createTableSql, q } from '../schema/ddl.js';
import { ALL_TABLES, dimTimeframe, priceBars1d, refreshState, schemaMigrations, type Table } from '../schema/tables.js';
import { ensurePartitions, partitionClause, partitionsInSchema, parsePartitions } from './postgres/partitions.js';
import { VIEWS, viewStatements } from '../schema/views.js';
import { commentStatements } from '../schema/comments.js';
import type { Store } from './store.js';
import { UserError } from '../util/errors.js';

/** Bump when the schema changes, and say what the version adds. */
export const SCHEMA_VERSION = 10;
const VERSIONS: Record<number, string> = {
  1: 'initial schema',
  2: 'refresh_state.carry_key, carry (kernel state for incremental continuation), rows_ahead',
  3: 'DuckDB: refresh_state rewritten once without the replaced rows its upserts used to leave behind',
  4: 'refresh_state.carry as BLOB / bytea (the packed bytes instead of their base64 text), stored uncompressed on DuckDB',
  5: 'runs: the history of import and daily runs beside refresh_runs (talab runs)',
  6: 'views v_bars and v_ema (finished bars, EMAs wide by period, a UTC day column); comments on every table, view and column',
  7: 'refresh_state.src_fp: fingerprint of the source rows the bars consumed (edits outside import are detected)',
  8: 'dim_assets.market_cap_optional and a nullable price_bars_1d.market_cap: assets whose source has no market cap build bars without it',
  9: 'refresh_state.changed_from: the earliest day a family rewrote, which the families reading it take in (no family writes another\'s state)',
  10: 'ml_feature_state: per-asset watermark and row fingerprints of the built feature-matrix groups (kept current by refresh)',
};

export interface MigrateOptions {
  /**
   * PostgreSQL: hash partitions per per-asset table for a schema created now (default TALAB_PG_PARTITIONS;
   * 0 = plain tables). An existing schema keeps the layout it was created with; asking for another is refused.
   */
  partitions?: number;
}

export async function migrate(store: Store, opts: MigrateOptions = {}): Promise<void> {
  const asked = opts.partitions;
  if (asked === undefined && (await schemaIsCurrent(store))) return;
  const parts = await partitionLayout(store, asked);
  if (asked !== undefined && (await schemaIsCurrent(store))) return;
  await store.transaction(async () => {
    for (const t of ALL_TABLES) {
      await store.exec(createTableSql(store.engine, t) + partitionClause(t, parts));
      await ensurePartitions(store, t, parts);
      const have = await store.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = current_schema() AND table_catalog = current_database()`,
        [t.name],
      );
      const names = new Set(have.map((h) => h.column_name));
      for (const col of t.columns) if (!names.has(col.name)) await store.exec(addColumnSql(store.engine, t, col));
    }
    const done = await store.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${schemaMigrations.name}`);
    const from = done[0]?.v ?? 0;
    // v4 rewrites refresh_state under its current definition: text carries become bytes, and on DuckDB the
    // carry column gets its compression setting (which ALTER cannot give) and the v3 compaction comes along.
    if (await carryIsText(store)) await compact(store, refreshState, { carry: carryTextToBytes(store.dialect) });
    else if (from > 0 && from < 4 && store.dialect === 'duckdb') await compact(store, refreshState);
    if (from > 0 && from < 8) {
      await store.exec(`ALTER TABLE ${q(priceBars1d.name)} ALTER COLUMN market_cap DROP NOT NULL`);
      await flagAssetsWithoutMarketCap(store);
    }
    for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
      if (!VERSIONS[v]) continue;
      await store.exec(
        `INSERT INTO ${schemaMigrations.name} (version, description) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`,
        [v, VERSIONS[v]],
      );
    }
    await seedTimeframes(store);
    // Views and comments follow the code: recreated at every migration. A change to a view or a description
    // reaches existing databases with the next SCHEMA_VERSION, so bump it with such a change.
    // One batch: some 470 statements, a third faster on DuckDB and a round trip each saved on PostgreSQL.
    await store.exec([...viewStatements(store.engine), ...commentStatements()].join(';\n'));
  });
}

/** The partition count this schema has or gets (always 0 on DuckDB). */
async function partitionLayout(store: Store, asked: number | undefined): Promise<number> {
  if (store.dialect !== 'postgres') {
    if (asked) throw new UserError('--partitions applies to PostgreSQL only (a DuckDB file is one process\'s database)');
    return 0;
  }
  const have = await partitionsInSchema(store);
  const wanted = asked ?? parsePartitions(process.env.TALAB_PG_PARTITIONS);
  if (have === undefined) return wanted;
  if (asked !== undefined && asked !== have) {
    throw new UserError(
      `${store.location} was created ${have ? `with ${have} partitions per table` : 'without partitions'}; ` +
        `its layout cannot change in place (build a new schema with --partitions ${asked} and import into it)`,
    );
  }
  return have;
}

/**
 * Rewrite a table under its current definition, converting the columns of `convert` with the given SQL. On DuckDB
 * this also drops its deleted rows, which DuckDB keeps in their row group until it can merge whole row groups (a
 * small, often-rewritten table never gets there). Inside the migration's transaction.
 */
async function compact(store: Store, t: Table, convert: Record<string, string> = {}): Promise<void> {
  const tmp = `${t.name}__compact`;
  await store.exec(createTableSql(store.engine, t, tmp));
  const cols = t.columns.map((c) => q(c.name)).join(', ');
  const sel = t.columns.map((c) => convert[c.name] ?? q(c.name)).join(', ');
  await store.exec(`INSERT INTO ${q(tmp)} (${cols}) SELECT ${sel} FROM ${q(t.name)}`);
  await store.exec(`DROP TABLE ${q(t.name)}`);
  await store.exec(`ALTER TABLE ${q(tmp)} RENAME TO ${q(t.name)}`);
}

/**
 * v8: an asset imported before the flag existed whose stored days have no market cap at all came from a source
 * without one; every one of its days was rejected by the 1D builder. It gets the flag, and a change recorded
 * from its first day, so the next refresh builds its bars.
 */
async function flagAssetsWithoutMarketCap(store: Store): Promise<void> {
  const ids = await store.query<{ id: number; lo: number }>(
    `SELECT id, min(ts) AS lo FROM price_histories GROUP BY id HAVING count(market_cap) = 0`,
  );
  for (const r of ids) {
    await store.exec('UPDATE dim_assets SET market_cap_optional = true, updated_at = now() WHERE id = $1', [r.id]);
    await store.exec(
      `INSERT INTO price_changes (id, ts, detected_at, kind, source_file) VALUES ($1, $2::timestamptz, now(), 'revision', 'schema upgrade 8')
       ON CONFLICT DO NOTHING`,
      [r.id, new Date(Number(r.lo)).toISOString()],
    );
  }
}

/** Whether refresh_state.carry is still the text column of schemas 2 and 3. */
async function carryIsText(store: Store): Promise<boolean> {
  const r = await store.query<{ t: string }>(
    `SELECT data_type AS t FROM information_schema.columns
     WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = $1 AND column_name = 'carry'`,
    [refreshState.name],
  );
  return /^(VARCHAR|text|character varying)$/i.test(r[0]?.t ?? '');
}

/**
 * Schema 3 kept a carry as '~' + base64 of its packed bytes: those become the bytes. The raw form schema 2 wrote
 * (base64 of the doubles, no '~') is dropped: its tables are recomputed once, and then carried again.
 */
function carryTextToBytes(d: Store['dialect']): string {
  return d === 'duckdb'
    ? "CASE WHEN starts_with(carry, '~') THEN from_base64(substr(carry, 2)) END"
    : "CASE WHEN left(carry, 1) = '~' THEN decode(substr(carry, 2), 'base64') END";
}

/** Every table exists and the recorded version is this code's: nothing to do (the common case, kept cheap). */
export async function schemaIsCurrent(store: Store): Promise<boolean> {
  // One statement (every command pays this check before its work): the version, the tables and views, the catalog.
  try {
    const names = [...ALL_TABLES.map((t) => t.name), ...VIEWS.map((v) => v.name)];
    const r = await store.query<{ v: number | null; n: number; tf: number }>(
      `SELECT (SELECT max(version) FROM ${schemaMigrations.name}) AS v, ` +
        `(SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() ` +
        `AND table_name IN (${names.map((_, i) => `$${i + 1}`).join(', ')})) AS n, (SELECT count(*) FROM ${dimTimeframe.name}) AS tf`,
      names,
    );
    return Number(r[0]?.v ?? 0) === SCHEMA_VERSION && Number(r[0].n) === names.length && Number(r[0].tf) === TIMEFRAMES.length;
  } catch {
    return false; // no schema_migrations (or dim_timeframe) yet: a new database
  }
}

async function seedTimeframes(store: Store): Promise<void> {
  const existing = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${dimTimeframe.name}`);
  if (Number(existing[0].n) === TIMEFRAMES.length) return;
  const n = TIMEFRAMES.length;
  const text = (f: (i: number) => string | null) => Array.from({ length: n }, (_, i) => f(i));
  const ints = (f: (i: number) => number) => Int32Array.from({ length: n }, (_, i) => f(i));
  const bools = (f: (i: number) => boolean) => Uint8Array.from({ length: n }, (_, i) => (f(i) ? 1 : 0));
  const t = (i: number) => TIMEFRAMES[i];
  await store.upsert(dimTimeframe, {
    length: n,
    cols: {
      tf: text((i) => t(i).tf),
      base_unit: text((i) => t(i).baseUnit),
      tf_qty: ints((i) => t(i).qty),
      tf_days_nominal: ints((i) => t(i).daysNominal),
      alignment_type: text((i) => t(i).alignment),
      calendar_anchor: Float64Array.from({ length: n }, (_, i) =>
        t(i).calendarAnchor === null ? NaN : t(i).calendarAnchor ? 1 : 0),
      calendar_scheme: text((i) => t(i).scheme),
      roll_policy: text((i) => (t(i).alignment === 'tf_day' ? 'multiple_of_tf' : 'calendar_anchor')),
      allow_partial_start: bools((i) => t(i).allowPartialStart),
      allow_partial_end: bools((i) => t(i).allowPartialEnd),
      tf_days_min: ints((i) => t(i).daysMin),
      tf_days_max: ints((i) => t(i).daysMax),
      sort_order: ints((i) => t(i).sortOrder),
      is_default: bools((i) => t(i).isDefault),
    },
  });
}
