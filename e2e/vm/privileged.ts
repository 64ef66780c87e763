import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSyncChecked } from '../../electron/core/exec.ts';
import { INSTALLED_HELPER } from '../../electron/helper/helper-client.ts';
import type { Guest } from './guest.ts';
import { GUEST_BASE } from './guest-image.ts';
import { assertAgree, type GuestStatus, guestStatus } from './vm-support.ts';

/**
 * The privileged path as a package installs it, for the booted guest: the deb's /opt layout made
 * from electron-builder.yml and dist/helper (.ci/helper-tree.mjs), its after-install.sh run for
 * real (/usr/lib/hindsight, the polkit policy), Debian's polkitd and pkexec from the image, and a
 * polkit rule that lets one test user do what the helper's actions cover. Nothing of this is in
 * the image: a code change never rebuilds it.
 */

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const POLICY_FILE = join(PROJECT, 'assets', 'polkit', 'org.hindsight.policy');
/** Every action the rule grants starts with this (and so does every action of the policy). */
export const ACTION_PREFIX = 'org.hindsight.';
/** The user the rule lets through, and one it does not. */
export const ADMIN_USER = 'hs-admin';
export const OTHER_USER = 'hs-other';
export const RULE_PATH = '/etc/polkit-1/rules.d/50-hindsight-test.rules';

export interface PolicyAction {
  id: string;
  /** org.freedesktop.policykit.exec.path: the one program pkexec runs for this action. */
  execPath: string | null;
  argv1: string | null;
}

/** The actions of a polkit policy file, with the program each one is pinned to. */
export function policyActions(xml: string): PolicyAction[] {
  return [...xml.matchAll(/<action\s+id="([^"]+)"\s*>([\s\S]*?)<\/action>/g)].map(([, id, body]) => {
    const annotation = (key: string): string | null =>
      new RegExp(`<annotate key="org\\.freedesktop\\.policykit\\.${key}">([^<]*)</annotate>`).exec(
        body as string,
      )?.[1] ?? null;
    return { id: id as string, execPath: annotation('exec\\.path'), argv1: annotation('exec\\.argv1') };
  });
}

/** The JavaScript rule (polkit's /etc/polkit-1/rules.d): `user` may do every Hindsight action. */
export function polkitRule(user: string): string {
  return [
    "// Hindsight's booted test: this user may do what Hindsight's helper asks polkit for, unasked.",
    'polkit.addRule(function (action, subject) {',
    `  if (action.id.indexOf(${JSON.stringify(ACTION_PREFIX)}) === 0 && subject.user === ${JSON.stringify(user)}) {`,
    '    return polkit.Result.YES;',
    '  }',
    '});',
    '',
  ].join('\n');
}

/** A command line that runs `command` as `user`, with the environment a login would give it. */
export function asUser(user: string, command: string): string {
  return `setpriv --reuid=${user} --regid=${user} --init-groups --reset-env ${command}`;
}

interface FileSet {
  from: string;
  to: string;
  filter?: unknown;
}
interface BuilderConfig {
  productName: string;
  extraResources?: (string | FileSet)[];
}

/** dist/helper as .ci/helper-tree.mjs assembles it; rebuilt only when it is not the current build's. */
function helperTree(): string {
  const tree = join(PROJECT, 'dist', 'helper');
  const same = (a: string, b: string): boolean =>
    existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));
  const current =
    same(join(tree, 'helper.mjs'), join(PROJECT, 'dist', 'helper.mjs')) &&
    same(join(tree, 'hindsight-helper'), join(PROJECT, 'assets', 'helper', 'hindsight-helper')) &&
    existsSync(join(tree, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
  if (!current) {
    runSyncChecked(process.execPath, [join(PROJECT, '.ci', 'helper-tree.mjs'), '--quiet'], { cwd: PROJECT });
  }
  return tree;
}

/**
 * Lays out under `dir` what the deb puts in /opt/<productName>, as far as after-install.sh reads it:
 * electron-builder.yml's extraResources (the helper tree and the polkit policy) in resources/.
 * electron/main/packaging.test.ts checks that layout with electron-builder's own file matchers;
 * here a plain copy of each entry, so a new filter there has to be handled here too.
 * Returns the app folder's path relative to `dir` (opt/Hindsight).
 */
export function stagePackage(dir: string): string {
  helperTree();
  const require = createRequire(join(PROJECT, 'package.json'));
  const yaml = require('js-yaml') as { load(text: string): unknown };
  const config = yaml.load(readFileSync(join(PROJECT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
  const app = join('opt', config.productName);
  rmSync(join(dir, app), { recursive: true, force: true });
  for (const entry of config.extraResources ?? []) {
    const set = typeof entry === 'string' ? { from: entry, to: entry } : entry;
    if (set.filter !== undefined)
      throw new Error(`extraResources ${set.from}: a filter, which this copy ignores`);
    const target = join(dir, app, 'resources', set.to);
    mkdirSync(target, { recursive: true });
    cpSync(join(PROJECT, set.from), target, { recursive: true });
  }
  writeFileSync(join(dir, 'rule.js'), polkitRule(ADMIN_USER));
  return app;
}

/**
 * The guest's side, as root: the two users, the rule, the package installed into the booted
 * deployment made writable for this boot (`ostree admin unlock`: an overlay on /usr that the next
 * boot drops), Node.js where the launcher looks for it, and polkitd restarted so it reads the new
 * policy. `staged` is the folder stagePackage() filled, as the guest sees it.
 */
export function installScript(staged: string, app: string): string {
  const helperDir = INSTALLED_HELPER.replace(/\/[^/]+$/, '');
  return [
    'set -e',
    ...[ADMIN_USER, OTHER_USER].map(
      (u) => `id -u ${u} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${u}`,
    ),
    `install -m 0644 ${staged}/rule.js ${RULE_PATH}`,
    'ostree admin unlock',
    `rm -rf /${app}`,
    `mkdir -p /${app}`,
    `cp -R ${staged}/${app}/. /${app}/`,
    `sh ${GUEST_BASE}/project/assets/linux/after-install.sh`,
    `ln -sfn ${GUEST_BASE}/tools/node ${helperDir}/node`,
    'systemctl restart polkit.service',
    `stat -c '%U:%G %a %n' ${INSTALLED_HELPER} /usr/bin/pkexec /usr/share/polkit-1/actions/org.hindsight.policy`,
  ].join('\n');
}

/**
 * For every installed Hindsight action (pkaction's list), polkit's answer for a process of each
 * user, through pkcheck: one line "ACTION USER EXIT" each (0 authorized, 1 or 2 not).
 */
export function pkcheckScript(): string {
  const users = [ADMIN_USER, OTHER_USER];
  return [
    'set -e',
    // A process of each user for polkit to judge, started straight as that user (setpriv execs).
    ...users.map((u, i) => `setpriv --reuid=${u} --regid=${u} --init-groups sleep 120 & pid${i}=$!`),
    'sleep 0.5',
    `for action in $(pkaction | grep '^${ACTION_PREFIX.replace(/\./g, '\\.')}'); do`,
    ...users.map(
      (u, i) =>
        `  code=0; pkcheck --action-id "$action" --process "$pid${i}" >/dev/null 2>&1 || code=$?; echo "$action ${u} $code"`,
    ),
    'done',
    `kill ${users.map((_, i) => `"$pid${i}"`).join(' ')}`,
  ].join('\n');
}

/**
 * The scenario, on a booted guest with two deployments (`start`, taken by guestStatus): the package
 * installed, polkit's answers for every action, then `hindsight etc apply` and `hindsight rollback`
 * as a user without the rule (refused, nothing changes) and as the one with it (through pkexec and
 * the installed helper). Leaves the booted deployment unlocked: run it last before a power-off.
 */
export async function privilegedPath(guest: Guest, start: GuestStatus): Promise<void> {
  const app = stagePackage(join(guest.share, 'package'));
  const installed = await guest.ok('install-package', installScript(`${GUEST_BASE}/share/package`, app));
  assert.match(installed.stdout, new RegExp(`^root:root 755 ${INSTALLED_HELPER}$`, 'm'));
  assert.match(installed.stdout, /^root:root 4755 \/usr\/bin\/pkexec$/m);
  const actions = policyActions(readFileSync(POLICY_FILE, 'utf8')).map((a) => a.id);
  const checks = (await guest.ok('pkcheck', pkcheckScript())).stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  assert.deepEqual(
    [...new Set(checks.map(([action]) => action))].sort(),
    [...actions].sort(),
    'polkitd has every action of the installed policy',
  );
  for (const [action, user, code] of checks) {
    assert.equal(code === '0', user === ADMIN_USER, `pkcheck ${action} for ${user}: exit ${code}`);
  }

  const target = start.hindsight.find((d) => !d.booted);
  assert.ok(target);
  const targetEtc = `/ostree/deploy/${target.stateroot}/deploy/${target.checksum}.${target.serial}/etc`;
  const hindsight = (user: string, args: string): string => asUser(user, `/usr/local/bin/hindsight ${args}`);
  // Without the rule: polkit says no (pkexec 127), the CLI says so, nothing changes.
  const unchanged = `ostree admin status\ntar -C ${targetEtc} --sort=name -cf - . | sha256sum`;
  const beforeRefused = await guest.ok(
    'before-refused',
    `echo "not for ${OTHER_USER}" > /etc/hindsight-refused\n${unchanged}`,
  );
  for (const [name, args] of [
    ['refused-etc-apply', `etc apply booted ${target.index} --path hindsight-refused --take local`],
    ['refused-rollback', 'rollback'],
  ] as const) {
    const r = await guest.run(name, hindsight(OTHER_USER, args));
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /hindsight: not authorized: polkit refused/);
  }
  const direct = await guest.run(
    'refused-pkexec',
    asUser(OTHER_USER, `/usr/bin/pkexec --disable-internal-agent ${INSTALLED_HELPER} manage`),
  );
  assert.equal(direct.code, 127, `pkexec for ${OTHER_USER}: ${direct.stderr}`);
  assert.equal(
    (await guest.ok('after-refused', unchanged)).stdout,
    beforeRefused.stdout,
    'a refused user changed neither the boot order nor the target /etc',
  );

  // With the rule: the same commands, through pkexec and the installed helper.
  await guest.ok('privileged-file', 'echo "applied through pkexec" > /etc/hindsight-privileged');
  await guest.ok(
    'admin-etc-apply',
    hindsight(ADMIN_USER, `etc apply booted ${target.index} --path hindsight-privileged --take local`),
  );
  assert.equal(
    (
      await guest.ok(
        'admin-applied',
        `stat -c %U ${targetEtc}/hindsight-privileged; cat ${targetEtc}/hindsight-privileged`,
      )
    ).stdout,
    'root\napplied through pkexec\n',
  );
  await guest.ok('admin-rollback', hindsight(ADMIN_USER, 'rollback'));
  const byAdmin = await guestStatus(guest, 'rolled-back-by-admin');
  assertAgree(byAdmin);
  assert.notEqual(byAdmin.ostree[0]?.id, start.ostree[0]?.id, 'the default deployment changed');
  assert.deepEqual(
    [byAdmin.hindsight[0]?.checksum, byAdmin.hindsight[0]?.serial, byAdmin.hindsight[0]?.pending],
    [target.checksum, target.serial, true],
    'the deployment that was not booted boots next',
  );
  const log = (await guest.ok('pkexec-log', 'journalctl -b -t pkexec -o cat --no-pager')).stdout;
  const ran = [...log.matchAll(/^(\S+): Executing command \[USER=root\] .*\[COMMAND=(.*)\]$/gm)];
  assert.deepEqual(
    ran.map(([, user, command]) => [user, command]),
    [
      [ADMIN_USER, `${INSTALLED_HELPER} manage --sysroot /`],
      [ADMIN_USER, `${INSTALLED_HELPER} manage --sysroot /`],
    ],
    `pkexec ran the installed helper for ${ADMIN_USER} only:\n${log}`,
  );
}
