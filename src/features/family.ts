// The feature matrix as a family of the refresh: after the EMAs, the built groups of ml_feature_matrix are
// brought up to date for the run's assets (refresh.ts holds the rules). Importing this module registers it;
// the commands that run a refresh with the matrix (refresh, daily) import it.
import '../refresh/families/builtin.js';
import { featureState } from '../schema/feature-tables.js';
import { registerFamily } from '../refresh/families/registry.js';
import type { StepFamily } from '../refresh/families/types.js';
import { FEATURE_STEP_TABLES, runFeaturesStep } from './refresh.js';

export const featuresFamily: StepFamily = {
  name: 'features',
  upstream: 'emas',
  tables: [featureState],
  stateTables: FEATURE_STEP_TABLES,
  rowCountRule: 'features/refresh.ts: one row per built day of each built asset (equal to a full features build)',
  runStep: runFeaturesStep,
};

registerFamily(featuresFamily);
