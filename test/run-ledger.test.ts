// refresh_runs tells the truth after a crash: a row left `running` by a killed process is marked `abandoned`
// at the next start (a live run elsewhere is left alone), and --resume picks the abandoned run up.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { runLiveKey } from '../src/store/locks.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { engineTest, SAMPLE } from './helpers/engines.js';

const status = async (s: Store, id: string) =>
  (await s.query<{ status: string }>('SELECT status FROM refresh_runs WHERE run_id = $1', [id]))[0]?.status;

engineTest('a run left running by a killed process is marked abandoned at the next start', async ({ store, dbArg, pgSchema }) => {
  await importFile(store, join(SAMPLE, 'mantle.csv'));
  const first = await runRefresh(store, { components: ['bars'] });
  // What a SIGKILL leaves behind: the row of a run that never finished.
  await store.exec("UPDATE refresh_runs SET status = 'running', finished_at = NULL WHERE run_id = $1", [first.runId]);
  let live: string | undefined;
  if (store.dialect === 'postgres') {
    // A second run that is alive (its session holds its run lock) must not be touched.
    live = 'live-run';
    await store.exec("INSERT INTO refresh_runs (run_id, options, status) VALUES ('live-run', '{}', 'running')");
    const other = await openStore(dbArg, { pgSchema, migrate: false });
    await other.lock(runLiveKey(live));
    await runRefresh(store, { components: ['bars'] });
    assert.equal(await status(store, live), 'running');
    await other.close();
  } else {
    await runRefresh(store, { components: ['bars'] });
  }
  assert.equal(await status(store, first.runId), 'abandoned');
  const resumed = await runRefresh(store, { components: ['bars'], resume: true });
  assert.equal(resumed.runId, first.runId, '--resume continues the abandoned run of the same options');
  if (live) {
    await runRefresh(store, { components: ['bars'] });
    assert.equal(await status(store, live), 'abandoned', 'once its session is gone');
  }
  const left = await store.query<{ n: number }>("SELECT count(*) AS n FROM refresh_runs WHERE status = 'running'");
  assert.equal(Number(left[0].n), 0);
});
