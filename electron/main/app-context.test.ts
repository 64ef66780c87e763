import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HelperHello } from '../../shared/helper-contract.ts';
import type { IpcEnvelope } from '../../shared/ipc-contract.ts';
import type { PackageDelta, StatusReport } from '../../shared/types.ts';
import { useMergeScenario } from '../core/fixtures/test-support.ts';
import { spawnHelper } from '../helper/helper-client.ts';
import {
  type AppContext,
  createAppContext,
  type HelperLauncher,
  keepsManagingHelper,
} from './app-context.ts';

function result<T>(envelope: IpcEnvelope<unknown>): T {
  assert.ok('result' in envelope, JSON.stringify(envelope));
  return envelope.result as T;
}

describe('main-side handlers through the real helper process', () => {
  const ctx = useMergeScenario();
  let app: AppContext;
  let dataDir = '';
  const events: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hindsight-app-'));
    app = await createAppContext({
      mode: 'browser',
      sysroot: ctx.scenario.sysroot,
      dataDir,
      launchHelper: (options) => spawnHelper(options),
      emit: (event) => events.push(event),
    });
  });
  after(async () => {
    await app.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers status from the helper, as the engine reads it', async () => {
    const status = result<StatusReport>(await app.dispatch('sysroot:status', {}));
    assert.deepEqual(
      status.deployments.map((d) => d.checksum),
      [ctx.scenario.v2, ctx.scenario.v1],
    );
    const info = result<{ demo: boolean; helper: { mode: string } }>(await app.dispatch('app:info', {}));
    assert.equal(info.demo, false);
    assert.equal(info.helper.mode, 'read');
  });

  it('caches package deltas by commit checksums and keeps indexes current', async () => {
    const first = result<PackageDelta>(await app.dispatch('packages:delta', { from: '1', to: '0' }));
    const again = result<PackageDelta>(
      await app.dispatch('packages:delta', { from: ctx.scenario.v1, to: 'default' }),
    );
    assert.deepEqual(again, first);
    assert.equal(again.from.index, 1);
  });

  it('refuses malformed requests and unknown channels with bad-request, before any helper call', async () => {
    const cases: [unknown, unknown][] = [
      ['packages:delta', { from: '--repo=/', to: '0' }],
      ['packages:delta', { from: '0' }],
      ['etc:file', { deployment: '0', path: { path: 'passwd', extra: 1 } }],
      ['fs:read', {}],
      [42, {}],
      ['notes:set', { checksum: 'short', serial: 0, note: 'x' }],
    ];
    for (const [channel, request] of cases) {
      const envelope = await app.dispatch(channel, request);
      assert.ok(
        'error' in envelope && envelope.error.code === 'bad-request',
        JSON.stringify({ channel, envelope }),
      );
    }
  });

  it('keeps notes on deployments across calls', async () => {
    await app.dispatch('notes:set', {
      checksum: ctx.scenario.v1,
      serial: 0,
      note: 'last known good',
      label: 'good',
    });
    const notes = result<{ note: string }[]>(await app.dispatch('notes:list', {}));
    assert.deepEqual(
      notes.map((n) => n.note),
      ['last known good'],
    );
  });

  it('runs a mutation through the managing helper, records it and tells the windows', async () => {
    const pinned = result<{ status: StatusReport }>(
      await app.dispatch('deployments:pin', { deployment: '1' }),
    );
    assert.equal(pinned.status.deployments[1]?.pinned, true);
    await app.dispatch('deployments:unpin', { deployment: '1' });
    const history = result<{ operation: string; result: string }[]>(await app.dispatch('history:list', {}));
    assert.ok(history.some((h) => h.operation === 'pin' && h.result === 'ok'));
    assert.ok(events.includes('sysroot:changed'));
  });
});

describe('who authorises a mutation', () => {
  it('keeps the managing helper for the Electron app and as root, never for browser mode as a user', () => {
    assert.equal(keepsManagingHelper('electron', false), true);
    assert.equal(keepsManagingHelper('electron', true), true);
    assert.equal(keepsManagingHelper('browser', true), true);
    assert.equal(keepsManagingHelper('browser', false), false);
  });

  /** An app context whose helpers are stand-ins that count launches and closes. */
  async function counted(mode: 'browser' | 'electron', isRoot: boolean) {
    const dataDir = mkdtempSync(join(tmpdir(), 'hindsight-app-'));
    const launches: { mode: string; privileged: boolean }[] = [];
    let open = 0;
    const launchHelper: HelperLauncher = async (options) => {
      launches.push({ mode: options.mode, privileged: options.privileged });
      open++;
      let closed = false;
      return {
        hello: { privileged: options.privileged, mode: options.mode } as HelperHello,
        call: async () => ({}) as never,
        async close() {
          if (!closed) open--;
          closed = true;
        },
      };
    };
    const app = await createAppContext({
      mode,
      sysroot: dataDir,
      dataDir,
      launchHelper,
      emit: () => {},
      isRoot,
    });
    return {
      app,
      launches,
      open: () => open,
      async done() {
        await app.dispose();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }

  const managers = (launches: { mode: string }[]) =>
    launches.filter((l) => l.mode.startsWith('manage')).length;

  it('browser mode as a user starts (and so authorises) a managing helper per mutation, and closes it', async () => {
    const t = await counted('browser', false);
    try {
      await t.app.dispatch('deployments:pin', { deployment: '1' });
      assert.equal(managers(t.launches), 1);
      assert.equal(t.open(), 0, 'the helper is closed once the mutation is done');
      await Promise.all([
        t.app.dispatch('deployments:unpin', { deployment: '1' }),
        t.app.dispatch('system:reboot', {}),
      ]);
      assert.equal(managers(t.launches), 3, 'a fresh authorisation for every mutation');
      // Each one asks for the never-kept, single-change action (org.hindsight.manage-once).
      assert.ok(
        t.launches.filter((l) => l.mode !== 'read').every((l) => l.mode === 'manage-once' && l.privileged),
      );
      assert.equal(t.open(), 0);
    } finally {
      await t.done();
    }
  });

  it('the Electron app, and browser mode as root, keep one managing helper', async () => {
    for (const [mode, isRoot] of [
      ['electron', false],
      ['browser', true],
    ] as const) {
      const t = await counted(mode, isRoot);
      try {
        await t.app.dispatch('deployments:pin', { deployment: '1' });
        await t.app.dispatch('deployments:unpin', { deployment: '1' });
        assert.equal(managers(t.launches), 1, `${mode}, root: ${isRoot}`);
        assert.ok(t.launches.every((l) => l.mode !== 'manage-once'));
        assert.equal(t.open(), 1, 'kept open for the next mutation');
      } finally {
        await t.done();
      }
    }
  });
});
