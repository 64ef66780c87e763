import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProgram, requireProgram, runSync, runSyncChecked } from '../../electron/core/exec.ts';
import {
  chroot,
  convertToOstreeTree,
  findDebianMirrors,
  normaliseHostFiles,
  SUITE,
  seconds,
} from '../../electron/core/fixtures/debian-trees.ts';
import { removeFixture } from '../../electron/core/fixtures/sysroot-fixture.ts';

/**
 * The booted-test guest: a Debian 12 OSTree system on a bootable disk image, built once and cached.
 *
 * Layers, each cached under its own recipe so a change to a later one does not redo an earlier one:
 * 1. rootfs: debootstrap minbase + systemd, the kernel, dracut (with ostree-boot's module, which runs
 *    ostree-prepare-root in the initramfs), ostree, gjs with libostree's typelib.
 * 2. image: two commits made from it (1.0, and 2.0 with a package upgraded and one added) in a
 *    repo that the guest reaches as its remote over a 9p share; a disk with a /boot
 *    partition (ext4 that syslinux 6.04 can read, extlinux in the MBR, ostree's syslinux backend
 *    writing the config) and a root partition holding the sysroot with 1.0 deployed.
 *
 * The guest's test runner (guest/hindsight-test-runner) is part of the image; the project and Node
 * are not: they reach the guest through read-only shares, so a code change never rebuilds it.
 */

const here = dirname(fileURLToPath(import.meta.url));
const GUEST_FILES = join(here, 'guest');

/** Bump when the rootfs recipe changes (the image recipe hashes its own inputs). */
const ROOTFS_RECIPE = 'rootfs-r2';
const IMAGE_RECIPE = 'image-r2';
const GUEST_PACKAGES = [
  'systemd-sysv',
  'udev',
  'kmod',
  'dbus',
  'linux-image-amd64',
  'dracut',
  'ostree',
  'ostree-boot',
  'gjs',
  'gir1.2-ostree-1.0',
  'e2fsprogs',
  'procps',
  'util-linux',
  // The privileged path as installed: pkexec asks polkitd, which reads the packaged policy and
  // the test's JavaScript rule (booted.test.ts, privileged.ts).
  'polkitd',
  'pkexec',
];
export const STATEROOT = 'debian';
export const REMOTE = 'hindsight';
export const REF = 'debian/12/x86_64/hindsight-guest';
/** Where the guest mounts the shares (guest/hindsight-test-runner). */
export const GUEST_BASE = '/run/hindsight-test';
/** The package 2.0 upgrades, and the one it adds. */
export const MARKER_PACKAGE = 'hindsight-guest-marker';
export const ADDED_PACKAGE = 'hindsight-guest-extra';
/** A conffile the marker package ships; 2.0 changes its default (an upstream /etc change). */
export const MARKER_CONFFILE = 'hindsight-guest.conf';
const DISK_BYTES = 6 * 1024 ** 3;
const BOOT_START = 1024 ** 2;
const BOOT_BYTES = 512 * 1024 ** 2;
export const KARGS = ['root=LABEL=hs-root', 'rw', 'console=ttyS0,115200', 'quiet', 'panic=10'];

export interface GuestImage {
  /** The raw disk image with 1.0 deployed; boot copies of it (qcow2 overlays), never the file itself. */
  disk: string;
  /** The repo the guest pulls from (shared read-only as `remote`). */
  remoteRepo: string;
  commits: { '1.0': string; '2.0': string };
  kernel: string;
  /** Seconds each stage took when it was built (0 for a stage that came from the cache). */
  timings: { rootfs: number; image: number };
  cached: boolean;
}

type Log = (line: string) => void;

export function defaultVmCache(): string {
  return process.env.HINDSIGHT_VM_CACHE ?? '/var/cache/hindsight-vm';
}

const sh = (program: string, args: string[], env?: NodeJS.ProcessEnv): string =>
  runSyncChecked(requireProgram(program), args, env ? { env } : {}).toString('utf8');

/** Runs `fn` with /proc, /sys and /dev mounted in the tree (dracut and kernel hooks need them). */
function withChrootMounts<T>(tree: string, fn: () => T): T {
  const mounted: string[] = [];
  try {
    for (const [args, dir] of [
      [['-t', 'proc', 'proc'], 'proc'],
      [['-t', 'sysfs', 'sysfs'], 'sys'],
      [['--bind', '/dev'], 'dev'],
    ] as const) {
      const target = join(tree, dir);
      mkdirSync(target, { recursive: true });
      sh('mount', [...args, target]);
      mounted.push(target);
    }
    return fn();
  } finally {
    for (const target of mounted.reverse()) runSync(requireProgram('umount'), ['-l', target]);
  }
}

/** Layer 1: debootstrap, the kernel and the boot tools, an initramfs that boots an OSTree root. */
function buildRootfs(cacheDir: string, log: Log): { tree: string; built: boolean; seconds: number } {
  const final = join(cacheDir, ROOTFS_RECIPE);
  if (existsSync(join(final, '.complete'))) return { tree: final, built: false, seconds: 0 };
  const started = Date.now();
  const mirrors = findDebianMirrors();
  const work = `${final}.work`;
  removeFixture(work);
  log(`debootstrap --variant=minbase ${SUITE} (${mirrors.debian})`);
  sh('debootstrap', ['--variant=minbase', SUITE, work, mirrors.debian]);
  const sources = [`deb ${mirrors.debian} ${SUITE} main`];
  if (mirrors.updates) sources.push(`deb ${mirrors.updates} ${SUITE}-updates main`);
  if (mirrors.security) sources.push(`deb ${mirrors.security} ${SUITE}-security main`);
  writeFileSync(join(work, 'etc/apt/sources.list'), `${sources.join('\n')}\n`);
  // No service starts inside the chroot.
  const policy = join(work, 'usr/sbin/policy-rc.d');
  writeFileSync(policy, '#!/bin/sh\nexit 101\n');
  chmodSync(policy, 0o755);
  withChrootMounts(work, () => {
    log(`apt-get install ${GUEST_PACKAGES.join(' ')}`);
    chroot(work, ['/usr/bin/apt-get', 'update', '-qq']);
    chroot(work, ['/usr/bin/apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...GUEST_PACKAGES]);
    chroot(work, ['/usr/bin/apt-get', 'clean']);
    const kernel = chroot(work, ['/usr/bin/ls', '/lib/modules']).trim().split('\n');
    if (kernel.length !== 1) throw new Error(`expected one kernel in the guest, found: ${kernel.join(', ')}`);
    const version = kernel[0] as string;
    // Not host-only: the initramfs must find a virtio disk it has never seen, and mount it for
    // ostree-prepare-root, which ostree-boot's dracut module adds.
    log(`dracut --no-hostonly --add ostree ${version}`);
    chroot(work, [
      '/usr/bin/dracut',
      '--force',
      '--no-hostonly',
      '--add',
      'ostree',
      '--add-drivers',
      'virtio_blk virtio_pci ext4',
      `/boot/initrd.img-${version}`,
      version,
    ]);
  });
  rmSync(policy);
  normaliseHostFiles(work);
  removeFixture(final);
  renameSync(work, final);
  writeFileSync(join(final, '.complete'), `${new Date().toISOString()}\n`);
  pruneOtherBuilds(cacheDir, ROOTFS_RECIPE.replace(/-r\d+$/, '-'), final);
  return { tree: final, built: true, seconds: seconds(started) };
}

/** Older builds of a layer (another recipe or other inputs) take gigabytes: only the new one stays. */
function pruneOtherBuilds(cacheDir: string, prefix: string, keep: string): void {
  for (const name of readdirSync(cacheDir)) {
    const path = join(cacheDir, name);
    if (name.startsWith(prefix) && path !== keep) removeFixture(path);
  }
}

/** A real .deb made with dpkg-deb: one file under /usr and one conffile. */
function buildDeb(dir: string, name: string, version: string, conf: string): string {
  const root = join(dir, `${name}_${version}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/share', name), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN/control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Hindsight Tests <tests@example.invalid>\n` +
      `Description: ${name} ${version} (Hindsight's booted-test guest)\n`,
  );
  writeFileSync(join(root, 'usr/share', name, 'VERSION'), `${version}\n`);
  if (conf) {
    writeFileSync(join(root, 'etc', MARKER_CONFFILE), conf);
    writeFileSync(join(root, 'DEBIAN/conffiles'), `/etc/${MARKER_CONFFILE}\n`);
  }
  const deb = `${root}.deb`;
  sh('dpkg-deb', ['--root-owner-group', '--build', root, deb]);
  return deb;
}

/** What the image adds to the tree: the test runner, fstab, /var's folders, a root without password. */
function addGuestFiles(tree: string): void {
  const runner = join(tree, 'usr/libexec/hindsight-test-runner');
  mkdirSync(dirname(runner), { recursive: true });
  copyFileSync(join(GUEST_FILES, 'hindsight-test-runner'), runner);
  chmodSync(runner, 0o755);
  copyFileSync(
    join(GUEST_FILES, 'hindsight-test-runner.service'),
    join(tree, 'usr/lib/systemd/system/hindsight-test-runner.service'),
  );
  const wants = join(tree, 'etc/systemd/system/multi-user.target.wants');
  mkdirSync(wants, { recursive: true });
  rmSync(join(wants, 'hindsight-test-runner.service'), { force: true });
  symlinkSync(
    '/usr/lib/systemd/system/hindsight-test-runner.service',
    join(wants, 'hindsight-test-runner.service'),
  );
  // A fixed address on QEMU's user network, where the host's port forward reaches browser mode.
  const network = join(tree, 'etc/systemd/network/20-hindsight-guest.network');
  mkdirSync(dirname(network), { recursive: true });
  writeFileSync(
    network,
    '[Match]\nName=en*\n\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
  );
  for (const [target, unit] of [
    ['multi-user.target.wants', 'systemd-networkd.service'],
    ['sockets.target.wants', 'systemd-networkd.socket'],
  ]) {
    const dir = join(tree, 'etc/systemd/system', target as string);
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, unit as string), { force: true });
    symlinkSync(`/usr/lib/systemd/system/${unit}`, join(dir, unit as string));
  }
  // The CLI as a user types it: Node and the project come from the host's read-only shares.
  const cli = join(tree, 'usr/local/bin/hindsight');
  mkdirSync(dirname(cli), { recursive: true });
  writeFileSync(
    cli,
    `#!/bin/sh\nexec ${GUEST_BASE}/tools/node ${GUEST_BASE}/project/electron/cli/hindsight.mjs "$@"\n`,
  );
  chmodSync(cli, 0o755);
  writeFileSync(join(tree, 'etc/fstab'), 'LABEL=hs-boot /boot ext4 defaults 0 2\n');
  writeFileSync(join(tree, 'etc/hostname'), 'hindsight-guest\n');
  writeFileSync(join(tree, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 hindsight-guest\n');
  // The folders the root's links point into (/home -> var/home ...) live in the shared /var.
  writeFileSync(
    join(tree, 'usr/lib/tmpfiles.d/hindsight-guest-var.conf'),
    'd /var/home 0755 root root -\nd /var/roothome 0700 root root -\nd /var/opt 0755 root root -\n' +
      'd /var/srv 0755 root root -\nd /var/mnt 0755 root root -\n',
  );
  chroot(tree, ['/usr/bin/passwd', '--delete', 'root']);
  // The machine id is made at first boot; an empty file says so without a first-boot wizard.
  writeFileSync(join(tree, 'etc/machine-id'), '');
}

function ostreeCommit(repo: string, tree: string, version: string, subject: string): string {
  return sh('ostree', [
    'commit',
    `--repo=${repo}`,
    `--branch=${REF}`,
    `--subject=${subject}`,
    `--add-metadata-string=version=${version}`,
    `--tree=dir=${tree}`,
  ]).trim();
}

function attachLoop(disk: string, offset: number, size: number): string {
  return sh('losetup', ['--find', '--show', `--offset=${offset}`, `--sizelimit=${size}`, disk]).trim();
}

/** Layer 2: two commits, the remote, the disk with 1.0 deployed. */
function buildImage(
  cacheDir: string,
  rootfs: string,
  log: Log,
): Omit<GuestImage, 'timings' | 'cached'> & { built: boolean; seconds: number } {
  const inputs = createHash('sha256');
  inputs.update(`${ROOTFS_RECIPE}\n${IMAGE_RECIPE}\n${KARGS.join(' ')}\n`);
  for (const f of ['hindsight-test-runner', 'hindsight-test-runner.service']) {
    inputs.update(readFileSync(join(GUEST_FILES, f)));
  }
  const final = join(cacheDir, `${IMAGE_RECIPE}-${inputs.digest('hex').slice(0, 12)}`);
  const manifestPath = join(final, 'manifest.json');
  if (existsSync(manifestPath)) {
    return {
      ...(JSON.parse(readFileSync(manifestPath, 'utf8')) as Omit<GuestImage, 'timings' | 'cached'>),
      built: false,
      seconds: 0,
    };
  }
  const started = Date.now();
  const work = `${final}.work`;
  removeFixture(work);
  mkdirSync(work, { recursive: true });
  const debs = join(work, 'debs');
  mkdirSync(debs);

  // Tree 1.0: the rootfs with the marker package 1.0. Tree 2.0: 1.0 with the marker upgraded and a
  // package added, through dpkg itself. Hard-linked copies: dpkg replaces files by rename.
  const tree1 = join(work, 'tree-1.0');
  const tree2 = join(work, 'tree-2.0');
  log('making trees 1.0 and 2.0');
  sh('cp', ['-al', rootfs, tree1]);
  rmSync(join(tree1, '.complete'));
  addGuestFiles(tree1);
  const conf1 = '# Hindsight guest\nchannel=stable\nlog=info\n';
  const conf2 = '# Hindsight guest\nchannel=stable\nlog=info\nretries=3\n';
  sh('dpkg', [`--root=${tree1}`, '-i', buildDeb(debs, MARKER_PACKAGE, '1.0-1', conf1)]);
  sh('cp', ['-al', tree1, tree2]);
  sh('dpkg', [
    `--root=${tree2}`,
    '--force-confnew',
    '-i',
    buildDeb(debs, MARKER_PACKAGE, '2.0-1', conf2),
    buildDeb(debs, ADDED_PACKAGE, '1.0-1', ''),
  ]);
  let kernel = '';
  for (const tree of [tree1, tree2]) kernel = convertToOstreeTree(tree).kernel;

  // A bare repo: ostree pulls from any mode over file://, and committing 700 MB without archive
  // mode's compression takes seconds instead of minutes.
  log('committing 1.0 and 2.0 to the remote repo');
  const remoteRepo = join(work, 'remote-repo');
  sh('ostree', ['init', `--repo=${remoteRepo}`, '--mode=bare']);
  sh('ostree', ['config', `--repo=${remoteRepo}`, 'set', 'core.fsync', 'false']);
  const c1 = ostreeCommit(remoteRepo, tree1, '1.0', 'Hindsight guest 1.0');
  const c2 = ostreeCommit(
    remoteRepo,
    tree2,
    '2.0',
    `Hindsight guest 2.0: ${MARKER_PACKAGE} 2.0, + ${ADDED_PACKAGE}`,
  );
  sh('ostree', ['summary', `--repo=${remoteRepo}`, '--update']);
  removeFixture(tree1);
  removeFixture(tree2);

  log('partitioning the disk and deploying 1.0');
  const disk = join(work, 'disk.raw');
  sh('truncate', ['-s', String(DISK_BYTES), disk]);
  const bootSectors = BOOT_BYTES / 512;
  runSyncChecked(requireProgram('sfdisk'), ['--quiet', '--label', 'dos', disk], {
    input: `start=${BOOT_START / 512}, size=${bootSectors}, type=83, bootable\nstart=${BOOT_START / 512 + bootSectors}, type=83\n`,
  });
  const rootStart = BOOT_START + BOOT_BYTES;
  const loops: string[] = [];
  const mnt = join(work, 'mnt');
  const mounted: string[] = [];
  try {
    const bootLoop = attachLoop(disk, BOOT_START, BOOT_BYTES);
    loops.push(bootLoop);
    const rootLoop = attachLoop(disk, rootStart, DISK_BYTES - rootStart);
    loops.push(rootLoop);
    // syslinux 6.04 reads neither 64-bit ext4 nor metadata checksums.
    sh('mkfs.ext4', ['-q', '-L', 'hs-boot', '-O', '^64bit,^metadata_csum', bootLoop]);
    sh('mkfs.ext4', ['-q', '-L', 'hs-root', rootLoop]);
    mkdirSync(mnt);
    sh('mount', [rootLoop, mnt]);
    mounted.push(mnt);
    mkdirSync(join(mnt, 'boot'));
    sh('mount', [bootLoop, join(mnt, 'boot')]);
    mounted.push(join(mnt, 'boot'));

    sh('ostree', ['admin', 'init-fs', mnt]);
    sh('ostree', ['admin', 'os-init', `--sysroot=${mnt}`, STATEROOT]);
    const repo = join(mnt, 'ostree/repo');
    sh('ostree', ['config', `--repo=${repo}`, 'set', 'sysroot.bootloader', 'syslinux']);
    sh('ostree', [
      'remote',
      'add',
      `--repo=${repo}`,
      '--no-gpg-verify',
      REMOTE,
      `file://${GUEST_BASE}/remote`,
      REF,
    ]);
    // Only 1.0: the guest has to download 2.0's objects when it upgrades.
    sh('ostree', ['pull-local', `--repo=${repo}`, remoteRepo, c1]);
    sh('ostree', ['refs', `--repo=${repo}`, `--create=${REMOTE}:${REF}`, c1]);
    // ostree's syslinux backend edits boot/syslinux/syslinux.cfg (a link to loader/syslinux.cfg),
    // keeping lines it does not own: the serial console and a short timeout.
    mkdirSync(join(mnt, 'boot/loader.0'));
    writeFileSync(join(mnt, 'boot/loader.0/syslinux.cfg'), 'SERIAL 0 115200\nPROMPT 0\nTIMEOUT 10\n');
    symlinkSync('loader.0', join(mnt, 'boot/loader'));
    mkdirSync(join(mnt, 'boot/syslinux'));
    symlinkSync('../loader/syslinux.cfg', join(mnt, 'boot/syslinux/syslinux.cfg'));
    sh('ostree', [
      'admin',
      'deploy',
      `--sysroot=${mnt}`,
      `--os=${STATEROOT}`,
      ...KARGS.map((k) => `--karg=${k}`),
      `${REMOTE}:${REF}`,
    ]);
    log(sh('ostree', ['admin', 'status', `--sysroot=${mnt}`]).trim());
    log(readFileSync(join(mnt, 'boot/syslinux/syslinux.cfg'), 'utf8').trim());
    sh('extlinux', ['--install', join(mnt, 'boot/syslinux')]);
  } finally {
    for (const m of mounted.reverse()) runSync(requireProgram('umount'), [m]);
    for (const loop of loops) runSync(requireProgram('losetup'), ['--detach', loop]);
  }
  const mbr = ['/usr/lib/EXTLINUX/mbr.bin', '/usr/lib/syslinux/mbr/mbr.bin'].find((p) => existsSync(p));
  if (!mbr) throw new Error('no syslinux MBR (install extlinux)');
  sh('dd', [`if=${mbr}`, `of=${disk}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  rmSync(mnt, { recursive: true, force: true });
  rmSync(debs, { recursive: true, force: true });

  removeFixture(final);
  renameSync(work, final);
  pruneOtherBuilds(cacheDir, IMAGE_RECIPE.replace(/-r\d+$/, '-'), final);
  const image = {
    disk: join(final, 'disk.raw'),
    remoteRepo: join(final, 'remote-repo'),
    commits: { '1.0': c1, '2.0': c2 },
    kernel,
  };
  // Written last: its presence marks the cache complete.
  writeFileSync(manifestPath, `${JSON.stringify(image, null, 2)}\n`);
  return { ...image, built: true, seconds: seconds(started) };
}

/** What the machine lacks to build or boot the guest, in words; empty when it has everything. */
export function missingForVm(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (loop devices, mounts and chroot need it)');
  for (const [program, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['qemu-img', 'qemu-utils'],
    ['debootstrap', 'debootstrap'],
    ['extlinux', 'extlinux'],
    ['ostree', 'ostree'],
    ['sfdisk', 'fdisk'],
    ['losetup', 'mount'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['dpkg-deb', 'dpkg'],
  ] as const) {
    if (!findProgram(program)) missing.push(`${program} (apt-get install ${pkg})`);
  }
  if (!existsSync('/dev/loop-control')) missing.push('loop devices (/dev/loop-control)');
  return missing;
}

/** The guest image, built on first use (a few minutes, needs the Debian mirror) and cached after. */
export function guestImage(options: { cacheDir?: string; log?: Log } = {}): GuestImage {
  const cacheDir = options.cacheDir ?? defaultVmCache();
  const log = options.log ?? (() => {});
  mkdirSync(cacheDir, { recursive: true });
  const rootfs = buildRootfs(cacheDir, log);
  const image = buildImage(cacheDir, rootfs.tree, log);
  return {
    disk: image.disk,
    remoteRepo: image.remoteRepo,
    commits: image.commits,
    kernel: image.kernel,
    timings: { rootfs: rootfs.seconds, image: image.seconds },
    cached: !rootfs.built && !image.built,
  };
}
