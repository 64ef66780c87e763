import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram, runSyncChecked, startProgram } from '../../electron/core/exec.ts';
import type { GuestImage } from './guest-image.ts';

/**
 * One booted guest: a qcow2 overlay on the shared image, booted under QEMU, driven through the
 * shared folder that guest/hindsight-test-runner reads. Every scenario gets its own overlay, so a
 * scenario starts from the image as built and leaves nothing behind for the next one.
 */

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = join(here, '..', '..');
/** Where each run leaves its serial log and step outputs (named in every failure). */
export const RUNS_DIR = join(here, 'results');

/** One boot of the guest, as the runner recorded it. */
export interface BootRecord {
  number: number;
  bootId: string;
  /** `systemctl is-system-running --wait`: running, or degraded with the failed units named. */
  state: string;
  cmdline: string;
  failedUnits: string[];
  /** `ostree admin status` at that boot. */
  ostreeStatus: string;
}

export interface StepResult {
  name: string;
  /** The exit code; null when the machine rebooted while the step ran (it asked for that). */
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * KVM when it can run a stock kernel, else QEMU's TCG. The /dev/kvm on these machines is a nested
 * software hypervisor (kvm_pvm) that cannot: TCG there. HINDSIGHT_VM_ACCEL overrides.
 */
export function accelerator(): string {
  const chosen = process.env.HINDSIGHT_VM_ACCEL;
  if (chosen) return chosen;
  if (existsSync('/dev/kvm') && !existsSync('/sys/module/kvm_pvm')) return 'kvm';
  return 'tcg,thread=multi,tb-size=256';
}

/** A copy of the Node running the tests, for the guest (Debian 12 ships Node 18). */
function toolsDir(cacheDir: string): string {
  const dir = join(cacheDir, `tools-${process.version}`);
  const node = join(dir, 'node');
  if (!existsSync(node)) {
    mkdirSync(dir, { recursive: true });
    copyFileSync(process.execPath, `${node}.tmp`);
    renameSync(`${node}.tmp`, node);
  }
  return dir;
}

export interface GuestOptions {
  /** Forward this TCP port of the host's 127.0.0.1 to the same port in the guest. */
  forwardPort?: number;
  memoryMiB?: number;
  /** Virtual CPUs. One: under TCG each is a host thread, and two guests run side by side. */
  cpus?: number;
  cacheDir: string;
}

export class Guest {
  readonly dir: string;
  readonly share: string;
  readonly serialLog: string;
  private qemu: ChildProcessWithoutNullStreams | null = null;
  private exited: { code: number | null; signal: string | null } | null = null;
  private stepCount = 0;
  private readonly qemuLog: string;

  constructor(
    readonly name: string,
    private readonly image: GuestImage,
    private readonly options: GuestOptions,
  ) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    this.dir = join(RUNS_DIR, `${stamp}-${name}`);
    this.share = join(this.dir, 'share');
    this.serialLog = join(this.dir, 'serial.log');
    this.qemuLog = join(this.dir, 'qemu.log');
  }

  /** Creates the overlay and boots; resolves once the runner has reported the first boot. */
  async start(timeoutMs = 300_000): Promise<BootRecord> {
    mkdirSync(join(this.share, 'steps'), { recursive: true });
    mkdirSync(join(this.share, 'results'), { recursive: true });
    mkdirSync(join(this.share, 'boots'), { recursive: true });
    const overlay = join(this.dir, 'disk.qcow2');
    runSyncChecked(requireProgram('qemu-img'), [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      this.image.disk,
      '-F',
      'raw',
      overlay,
    ]);
    const virtfs = (tag: string, path: string, readonly: boolean): string[] => [
      '-virtfs',
      `local,path=${path},mount_tag=${tag},security_model=none,id=${tag}${readonly ? ',readonly=on' : ''}`,
    ];
    const net = ['user', 'id=n0', 'restrict=on'];
    if (this.options.forwardPort) {
      net.push(`hostfwd=tcp:127.0.0.1:${this.options.forwardPort}-:${this.options.forwardPort}`);
    }
    const args = [
      '-nodefaults',
      '-no-user-config',
      '-machine',
      'pc',
      '-accel',
      accelerator(),
      '-cpu',
      'max',
      '-smp',
      String(this.options.cpus ?? 1),
      '-m',
      String(this.options.memoryMiB ?? 1536),
      '-drive',
      `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
      ...virtfs('hs', this.share, false),
      ...virtfs('project', PROJECT_ROOT, true),
      ...virtfs('remote', this.image.remoteRepo, true),
      ...virtfs('tools', toolsDir(this.options.cacheDir), true),
      '-netdev',
      net.join(','),
      '-device',
      'virtio-net-pci,netdev=n0',
      '-display',
      'none',
      '-vga',
      'none',
      '-monitor',
      'none',
      '-serial',
      `file:${this.serialLog}`,
    ];
    writeFileSync(join(this.dir, 'qemu.args'), `${args.join('\n')}\n`);
    const qemu = startProgram(requireProgram('qemu-system-x86_64'), args);
    this.qemu = qemu;
    const log = createWriteStream(this.qemuLog);
    qemu.stdout.pipe(log);
    qemu.stderr.pipe(log);
    qemu.stdin.end();
    qemu.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    return this.waitForBoot(1, timeoutMs);
  }

  private fail(message: string): never {
    throw new Error(`${this.name}: ${message}\n  serial log: ${this.serialLog}\n  steps: ${this.share}`);
  }

  boots(): BootRecord[] {
    const dir = join(this.share, 'boots');
    return readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .sort()
      .map((n) => parseBoot(Number(n), readFileSync(join(dir, n), 'utf8')));
  }

  /** Waits until the runner has reported boot `n` (1 is the first). */
  async waitForBoot(n: number, timeoutMs = 300_000): Promise<BootRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const boot = this.boots().find((b) => b.number === n);
      if (boot) return boot;
      if (this.exited) this.fail(`QEMU exited (${JSON.stringify(this.exited)}) before boot ${n}`);
      if (Date.now() > deadline) this.fail(`boot ${n} did not finish within ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }

  /** Runs a bash script in the guest (as root, after boot) and waits for its exit code. */
  async run(name: string, script: string, timeoutMs = 300_000): Promise<StepResult> {
    this.stepCount++;
    const id = `${String(this.stepCount).padStart(3, '0')}-${name.replace(/[^\w.-]+/g, '-')}`;
    const started = Date.now();
    const path = join(this.share, 'steps', `${id}.sh`);
    writeFileSync(`${path}.tmp`, `set -u\n${script}\n`);
    renameSync(`${path}.tmp`, path);
    const rc = join(this.share, 'results', `${id}.rc`);
    const deadline = started + timeoutMs;
    while (!existsSync(rc)) {
      if (this.exited) this.fail(`QEMU exited (${JSON.stringify(this.exited)}) during step ${id}`);
      if (Date.now() > deadline) this.fail(`step ${id} did not finish within ${timeoutMs / 1000} s`);
      await sleep(200);
    }
    const read = (ext: string): string => {
      try {
        return readFileSync(join(this.share, 'results', `${id}.${ext}`), 'utf8');
      } catch {
        return '';
      }
    };
    return {
      name: id,
      code: read('rc').trim() === 'rebooted' ? null : Number(read('rc').trim()),
      stdout: read('out'),
      stderr: read('err'),
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }

  /** `run`, failing with the step's output when it exits non-zero. */
  async ok(name: string, script: string, timeoutMs?: number): Promise<StepResult> {
    const r = await this.run(name, script, timeoutMs);
    if (r.code !== 0) {
      this.fail(`step ${r.name} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
    return r;
  }

  /** Powers the guest off and waits for QEMU to exit; the overlay is deleted, the logs kept. */
  async stop(timeoutMs = 120_000): Promise<void> {
    if (!this.qemu) return;
    if (!this.exited) {
      const path = join(this.share, 'steps', '999-poweroff.sh');
      writeFileSync(path, 'systemctl poweroff\n');
      const deadline = Date.now() + timeoutMs;
      while (!this.exited && Date.now() < deadline) await sleep(500);
      if (!this.exited) this.qemu.kill('SIGKILL');
      while (!this.exited) await sleep(100);
    }
    rmSync(join(this.dir, 'disk.qcow2'), { force: true });
  }

  /** Kills QEMU at once (after a failure); the logs stay. */
  kill(): void {
    if (this.qemu && !this.exited) this.qemu.kill('SIGKILL');
    rmSync(join(this.dir, 'disk.qcow2'), { force: true });
  }
}

function parseBoot(number: number, text: string): BootRecord {
  const [head = '', status = ''] = text.split('--- ostree admin status\n');
  const field = (key: string): string => new RegExp(`^${key}=(.*)$`, 'm').exec(head)?.[1] ?? '';
  return {
    number,
    bootId: field('boot_id'),
    state: field('state'),
    cmdline: field('cmdline'),
    failedUnits: field('failed_units').split(' ').filter(Boolean),
    ostreeStatus: status,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
