// Store.lock means the same on both engines: exclusive against shared, a session never blocked by its own
// locks, try-locks that take nothing when a key is busy, transaction locks let go at commit, and a closed
// session lets go of everything it held.
import assert from 'node:assert/strict';
import { engineTest } from './helpers/engines.js';

engineTest('Store.lock: shared, exclusive, try, reentrant, transaction scope, close', async ({ store }) => {
  const a = await store.connect();
  const b = await store.connect();
  try {
    const shared = await a.lock('run', { shared: true, wait: false });
    assert.ok(shared);
    const other = await b.lock('run', { shared: true, wait: false });
    assert.ok(other, 'shared holders admit each other');
    assert.equal(await store.lock('run', { wait: false }), null, 'an exclusive request waits for the shared ones');
    await other.release();
    const own = await a.lock('run', { wait: false });
    assert.ok(own, "a session's own locks never stand in its way");
    await own.release();
    await shared.release();
    const free = await store.lock('run', { wait: false });
    assert.ok(free, 'every hold let go');
    await free.release();

    // All or nothing: one busy key, and the free one is not left held.
    const x = (await a.lock('asset:1'))!;
    assert.equal(await b.lock(['asset:2', 'asset:1'], { wait: false }), null);
    const two = await store.lock('asset:2', { wait: false });
    assert.ok(two, 'asset:2 was let go when asset:1 was busy');
    await two.release();

    // A waiting lock is granted when the holder lets go.
    let granted = false;
    const waiting = b.lock('asset:1').then((h) => {
      granted = true;
      return h!;
    });
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(granted, false);
    await x.release();
    await (await waiting).release();

    // Transaction scope: held until the transaction ends.
    await a.transaction(async () => {
      const t = await a.lock('import:7', { scope: 'transaction' });
      assert.ok(t && Number.isFinite(t.at));
      assert.equal(await b.lock('import:7', { wait: false }), null);
    });
    const after = await b.lock('import:7', { wait: false });
    assert.ok(after, 'released by the commit');
    await after.release();

    // Closing a session lets go of its locks.
    assert.ok(await a.lock('asset:9', { wait: false }));
    await a.close();
    const gone = await b.lock('asset:9', { wait: false });
    assert.ok(gone);
    await gone.release();
  } finally {
    await a.close().catch(() => undefined);
    await b.close();
  }
});
