import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import { type HelperRuntimeFacts, helperRuntime, INSTALLED_HELPER } from './helper-client.ts';

/** What runs the unprivileged helper, for node, Electron in development and a packaged Electron. */

const APP_LAUNCHER = '/opt/Hindsight/resources/helper/hindsight-helper';
const node: HelperRuntimeFacts = {
  electron: false,
  runAsNode: false,
  execPath: '/usr/bin/node',
  env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  bundle: '/work/hindsight/dist/helper.mjs',
  launchers: [INSTALLED_HELPER],
};
const devElectron: HelperRuntimeFacts = {
  ...node,
  electron: true,
  runAsNode: true,
  execPath: '/work/hindsight/node_modules/electron/dist/electron',
};
const packaged: HelperRuntimeFacts = {
  ...node,
  electron: true,
  runAsNode: false,
  execPath: '/opt/Hindsight/hindsight',
  bundle: null,
  launchers: [APP_LAUNCHER, INSTALLED_HELPER],
};

describe('helperRuntime', () => {
  it('plain node (CLI, tests) runs the bundle itself, with the environment as it is', () => {
    assert.deepEqual(helperRuntime(node), { program: '/usr/bin/node', args: [node.bundle] });
  });

  it('Electron in development runs the bundle as node (its runAsNode fuse is on there)', () => {
    const command = helperRuntime(devElectron);
    assert.equal(command.program, devElectron.execPath);
    assert.deepEqual(command.args, [node.bundle]);
    assert.deepEqual(command.env, { ...node.env, ELECTRON_RUN_AS_NODE: '1' });
  });

  it('a packaged Electron never runs its own binary: the app’s launcher, which picks Node.js', () => {
    const command = helperRuntime(packaged);
    assert.deepEqual(command, { program: APP_LAUNCHER, args: [] });
    // Even with a bundle at hand: ELECTRON_RUN_AS_NODE is ignored there and the GUI would start.
    assert.deepEqual(
      helperRuntime({ ...packaged, bundle: '/opt/Hindsight/resources/app.asar/dist/helper.mjs' }),
      {
        program: APP_LAUNCHER,
        args: [],
      },
    );
    assert.deepEqual(helperRuntime({ ...packaged, launchers: [INSTALLED_HELPER] }), {
      program: INSTALLED_HELPER,
      args: [],
    });
  });

  it('falls back to the installed launcher when there is no bundle', () => {
    assert.deepEqual(helperRuntime({ ...node, bundle: null }), { program: INSTALLED_HELPER, args: [] });
    assert.deepEqual(helperRuntime({ ...devElectron, bundle: null }), {
      program: INSTALLED_HELPER,
      args: [],
    });
  });

  it('says what is missing when nothing can run the helper', () => {
    const code = (facts: HelperRuntimeFacts): string => {
      try {
        helperRuntime(facts);
      } catch (error) {
        return `${(error as HindsightError).code}: ${(error as Error).message}`;
      }
      return 'ran';
    };
    assert.match(code({ ...packaged, launchers: [] }), /^internal: .*launcher.*reinstall Hindsight$/);
    assert.match(code({ ...node, bundle: null, launchers: [] }), /^internal: .*npm run build/);
  });
});
