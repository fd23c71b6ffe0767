// Tables of the feature-matrix subsystem (SPEC §9). Kept apart from tables.ts so that subsystem owns them;
// ALL_TABLES includes them, so migrations create them on both engines like every other table.
import type { Table } from './tables.js';

export const FEATURE_TABLES: Table[] = [];
