// The shape of a table definition, below both the core tables (tables.ts) and the feature tables.
export type ColType = 'int' | 'bigint' | 'double' | 'text' | 'bool' | 'ts' | 'json' | 'blob';

export interface Column {
  name: string;
  type: ColType;
  notNull?: boolean;
  /** SQL default, written the same on both engines (only `now()`, literals). */
  default?: string;
  /**
   * DuckDB: store the values as they are. Its checkpoint otherwise analyses every value of a changed column for
   * dictionary/FSST compression, which packed carries never take: ~1.2 s of each 1,000-asset daily checkpoint.
   */
  uncompressed?: boolean;
}

export interface Table {
  name: string;
  columns: Column[];
  /** Primary key; for every per-asset table it starts with `id`. */
  key: string[];
  /** Tables whose rows are a pure function of price_histories (the 12 derived tables). */
  derived?: 'bars' | 'emas';
  doc: string;
}
