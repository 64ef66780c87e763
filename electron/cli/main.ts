import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HindsightError, toErrorPayload } from '../../shared/errors.ts';
import type { HelperMethod, HelperParams, HelperResult } from '../../shared/helper-contract.ts';
import type { Resolution } from '../../shared/schemas.ts';
import type { ProgressEvent } from '../../shared/types.ts';
import type { AppCache } from '../core/app-cache.ts';
import { readStatus } from '../core/ostree/sysroot.ts';
import { detectBackend } from '../core/system/detect.ts';
import type { HelperClient } from '../helper/helper-client.ts';
import {
  formatChangelogs,
  formatDisk,
  formatDrift,
  formatEtcApply,
  formatEtcBackups,
  formatFilesDiff,
  formatHistory,
  formatMerge,
  formatOperation,
  formatPackageDelta,
  formatProgress,
  formatRollbackPreview,
  formatStatus,
  formatUpgradeCheck,
  noteKey,
  paint,
  type StatusNote,
  setColour,
} from './format.ts';

// Commands load their engine parts when they run (await import): a command pays only for what it
// uses, so `status` never evaluates zod, the diff libraries, better-sqlite3 or the demo's fixtures.

const usage = (
  demoDir: string,
): string => `Usage: hindsight COMMAND [ARGS] [--sysroot DIR] [--os NAME] [--json]

Commands:
  status                         deployments and their states
  packages diff FROM TO [--changelogs]
                                 package delta between two deployments or commits; --changelogs adds
                                 each changed package's changelog entries and the CVEs they name
  files diff FROM TO [PATH...]   files that differ between two deployments, commits or snapshots (as
                                 ostree diff or snapper status list them), optionally only under PATHs
  files show DEPLOYMENT PATH     print one file of a deployment (its own /etc) or a commit
  etc drift [DEPLOYMENT] [--diff]
                                 /etc changes of a deployment against its image's defaults
  etc merge SOURCE TARGET        what happens to SOURCE's /etc edits on the way to TARGET
  rollback-preview [TARGET]      what rolling back to TARGET (default: rollback) changes
  disk                           what each deployment holds alone, what removing it frees (and how
                                 much of that is in /boot), and the free space of the sysroot and /boot
  demo [DIR]                     build a real demo sysroot (default: ${demoDir})
  serve [--port N]               browser mode: serve the app on 127.0.0.1, print a one-time address
  start                          the desktop app (browser mode when the Electron binary is missing)

Changes (through the privileged helper; as root, or through pkexec):
  rollback [--to DEPLOYMENT]     boot DEPLOYMENT next (default: the rollback one); run again to undo
  upgrade [--check]              check the origin's remote, show version and package delta,
                                 then pull and deploy it for the next boot (--check: only look)
  deploy COMMIT|VERSION          deploy a commit from the repository's history as a new deployment
  pin DEPLOYMENT | unpin DEPLOYMENT
  undeploy DEPLOYMENT            remove a deployment (never the running one)
  cancel                         drop the staged (or new, not yet booted) deployment
  etc apply SOURCE TARGET (--path P --take merged|local|upstream)... | --resolutions FILE.json
            [--allow-booted]     write resolved /etc paths into TARGET's /etc (with a backup)
  etc restore DEPLOYMENT PATH --from default|DEPLOYMENT [--allow-booted]
                                 put one /etc path back to the image's default, or copy it from
                                 another deployment's /etc (with a backup)
  etc undo [BACKUP]              put back what the last (or that) etc apply or restore replaced
  etc backups                    the backups etc apply keeps (root only), with the limits that
                                 prune them after each apply
  etc backups remove BACKUP      delete one backup for good (it can no longer be undone)
  reboot                         reboot a running OSTree system into its next deployment
  history [--limit N]            the changes made through Hindsight (the helper's audit log)

Options: --color=auto|always|never colours a terminal's output (auto: not for pipes, nor with NO_COLOR set).
--no-cache (or HINDSIGHT_NO_CACHE=1) reads everything afresh instead of through the local cache.

Selectors: an index (0), booted, default, pending, rollback, staged, a commit checksum or
prefix, or a ref. For pin, unpin, undeploy and rollback --to, prefer status's COMMIT (CHECKSUM.SERIAL):
an index names whatever is at that place when the command runs, COMMIT the deployment you saw, even
after another tool deployed or removed one (and it is refused when that deployment is gone).
--sysroot defaults to / on a booted OSTree system.

snapper (btrfs) roots: --sysroot names the mounted root, the folder holding .snapshots (/ when it is
one); run as root. Selectors: a snapshot number (2), default, active (or booted) or current (0, the
live root). status, packages diff, files diff, history (the changes snapper recorded, newest first)
and etc drift [SNAPSHOT] (config files against the package database, as rpm -V, and pending
.rpmnew-style merges; default: current) read them; these change them, through the helper:
  rollback --to SNAPSHOT | --undo
                                 boot SNAPSHOT next (snapper rollback; on a read-only root the default
                                 subvolume), or undo that before the reboot
  files restore SNAPSHOT PATH    copy PATH from SNAPSHOT into the live root (with a backup)
  etc resolve PATH --take merged|local|upstream
                                 settle PATH's pending .rpmnew/.dpkg-dist/.pacnew (with a backup)
  etc undo BACKUP                put back what files restore or etc resolve replaced
  snapshot modify N [--description D] [--userdata K=V,...] [--cleanup number|timeline|empty-pre-post]
  snapshot delete N [M]          delete a snapshot (a pre and its post together)
  demo --snapper DIR             build a demo snapper root (loop-backed btrfs) in DIR
upgrade, deploy, pin, unpin, undeploy, cancel, reboot, etc merge/apply/backups and rollback-preview
are OSTree's.`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Raw bytes to stdout (`files show`); absent: written as UTF-8 text through `out`. */
  outBytes?(bytes: Buffer): void;
  /** Whether out and err are terminals, for --color=auto (absent: neither is). */
  tty?: { out: boolean; err: boolean };
}

const OPTIONS = {
  sysroot: { type: 'string' },
  os: { type: 'string' },
  json: { type: 'boolean', default: false },
  diff: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  to: { type: 'string' },
  check: { type: 'boolean', default: false },
  path: { type: 'string', multiple: true },
  take: { type: 'string', multiple: true },
  resolutions: { type: 'string' },
  'allow-booted': { type: 'boolean', default: false },
  limit: { type: 'string' },
  port: { type: 'string' },
  'no-cache': { type: 'boolean', default: false },
  color: { type: 'string', default: 'auto' },
  undo: { type: 'boolean', default: false },
  description: { type: 'string' },
  userdata: { type: 'string' },
  cleanup: { type: 'string' },
  snapper: { type: 'string' },
  from: { type: 'string' },
  changelogs: { type: 'boolean', default: false },
} as const;

const TAKES = ['merged', 'local', 'upstream'] as const;

/** `--path P --take X` pairs, or a JSON file of resolutions (the only way to give edited text). */
async function readResolutions(
  paths: string[],
  takes: string[],
  file: string | undefined,
): Promise<Resolution[]> {
  if (file !== undefined) {
    if (paths.length || takes.length) throw usageError('give --resolutions or --path/--take, not both');
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new HindsightError(
        'bad-request',
        `cannot read resolutions from ${file}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    const list = Array.isArray(value) ? value : (value as { resolutions?: unknown } | null)?.resolutions;
    const [{ z }, { resolutionSchema }] = await Promise.all([
      import('zod'),
      import('../../shared/schemas.ts'),
    ]);
    const parsed = z.array(resolutionSchema).min(1).safeParse(list);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HindsightError(
        'bad-request',
        `${file}: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'not a list of resolutions'} (expected [{"path":{"path":"passwd"},"take":"merged"}, ...])`,
      );
    }
    return parsed.data;
  }
  if (!paths.length)
    throw usageError(
      'etc apply needs --path P --take merged|local|upstream (repeatable) or --resolutions FILE',
    );
  if (paths.length !== takes.length) throw usageError('give one --take for each --path');
  return paths.map((path, i) => {
    const take = takes[i] as string;
    if (!(TAKES as readonly string[]).includes(take)) {
      throw usageError(
        `--take is merged, local or upstream, not "${take}" (edited text goes in a --resolutions file)`,
      );
    }
    return { path: { path }, take: take as (typeof TAKES)[number] };
  });
}

function usageError(message: string): HindsightError {
  return new HindsightError('bad-request', `${message} (see hindsight --help)`);
}

function throwUsage(message: string): never {
  throw usageError(message);
}

/** `--userdata important=yes,note=` as snapper takes it: an empty value removes the key. */
function parseUserdata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`--userdata is KEY=VALUE,... ("${pair}" has no key)`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

function sysrootFrom(value: string | undefined): string {
  if (value !== undefined) return value;
  if (existsSync('/run/ostree-booted')) return '/';
  // A machine whose / is a snapper root (openSUSE; Arch or Debian with snapper for /) is read there.
  if (detectBackend('/') === 'snapper') return '/';
  throw new HindsightError(
    'not-a-sysroot',
    'this machine is not booted from OSTree; pass --sysroot DIR (try: hindsight demo, then --sysroot <demo>/sysroot)',
  );
}

/**
 * The commands that act on a system and have no snapper side yet (status, packages diff, files diff,
 * etc drift and history have one; demo acts on none). The next steps of the snapper work take names
 * off this list.
 */
const NOT_YET_ON_SNAPPER = new Set([
  'upgrade',
  'deploy',
  'pin',
  'unpin',
  'undeploy',
  'cancel',
  'reboot',
  'etc',
  'rollback-preview',
]);

/** Sub-commands of a not-yet command that do have a snapper side. */
const ON_SNAPPER_SUBS: Record<string, string[]> = { etc: ['drift', 'resolve', 'undo'] };

/** The folder a command acts on when it is a snapper root, else null (OSTree, or nothing yet). */
function snapperRootOf(sysroot: string | undefined): string | null {
  const root = sysroot ?? (existsSync('/run/ostree-booted') ? undefined : '/');
  return root !== undefined && detectBackend(root) === 'snapper' ? root : null;
}

/**
 * Refuses, in one line, a command that has no snapper side yet when the folder it would act on is a
 * snapper root: better than OSTree's "not an OSTree sysroot", or a helper that starts and fails.
 */
function refuseOnSnapper(command: string, sub: string | undefined, sysroot: string | undefined): void {
  if (!NOT_YET_ON_SNAPPER.has(command)) return;
  if (sub !== undefined && ON_SNAPPER_SUBS[command]?.includes(sub)) return;
  const root = snapperRootOf(sysroot);
  if (root === null) return;
  const what = command === 'etc' && sub && /^[a-z-]+$/.test(sub) ? `etc ${sub}` : command;
  throw new HindsightError(
    'unsupported',
    `${what} is not supported on snapper roots yet (${root} is one; status, packages diff, files diff, etc drift and history are)`,
  );
}

function want(positionals: string[], min: number, max: number, usage: string): void {
  if (positionals.length < min || positionals.length > max) throw usageError(`usage: hindsight ${usage}`);
}

/**
 * The local cache (see app-cache.ts), opened on first use and once per process. A cache that cannot
 * be opened (read-only home, say) only costs speed.
 */
let cliCache: Promise<AppCache | null> | null = null;
function openCache(): Promise<AppCache | null> {
  cliCache ??= import('../core/app-cache.ts').then(
    ({ AppCache, defaultCacheFile }) => {
      try {
        return new AppCache(defaultCacheFile());
      } catch {
        return null;
      }
    },
    () => null,
  );
  return cliCache;
}

/**
 * The user's notes on deployments, which the app keeps in the same local cache. Read even with
 * --no-cache: they are the user's words, not something the cache remembers from the disk.
 */
async function readNotes(): Promise<Map<string, StatusNote>> {
  const notes = new Map<string, StatusNote>();
  try {
    for (const n of (await openCache())?.listNotes() ?? [])
      notes.set(noteKey(n), { note: n.note, label: n.label });
  } catch {
    // A cache that cannot be read only loses the notes.
  }
  return notes;
}

/** --color=always forces colour; auto (the default) colours a terminal unless NO_COLOR is set (no-color.org). */
function colourFor(mode: string, tty: boolean): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** Runs one CLI invocation and returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  // Errors are coloured on stderr's own terms; out's colour is set once the arguments are read.
  const at = argv.indexOf('--color');
  const colourArg =
    (at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--color='))?.slice('--color='.length)) ?? 'auto';
  const errColour = colourFor(colourArg, io.tty?.err ?? false);
  setColour(false);
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw usageError((error as Error).message.split('\n')[0] ?? 'bad arguments');
    }
    const { values, positionals } = parsed;
    json = values.json;
    if (!['auto', 'always', 'never'].includes(values.color))
      throw usageError(`--color is auto, always or never, not "${values.color}"`);
    setColour(!json && colourFor(values.color, io.tty?.out ?? false));
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      const { defaultDemoDir } = await import('../core/fixtures/demo.ts');
      io.out(`${usage(defaultDemoDir())}\n`);
      return command || values.help ? 0 : 2;
    }
    const emit = (data: unknown, human: string): void =>
      io.out(json ? `${JSON.stringify(data, null, 2)}\n` : human);
    const useCache = !values['no-cache'] && !process.env.HINDSIGHT_NO_CACHE;
    const cache = async (): Promise<AppCache | undefined> =>
      useCache ? ((await openCache()) ?? undefined) : undefined;
    const status = async () =>
      readStatus({ sysroot: sysrootFrom(values.sysroot), stateroot: values.os, store: await cache() });
    const target = { ...(values.os ? { os: values.os } : {}) };
    let lastProgress = '';
    const progress = (event: ProgressEvent): void => {
      if (json) return;
      const line = formatProgress(event);
      if (line !== lastProgress) io.err(`  ${line}`);
      lastProgress = line;
    };
    /**
     * The changes go through the helper process, the same code and the same checks the app uses:
     * spawned directly when this CLI runs as root, through pkexec (which asks here) otherwise.
     */
    const withHelper = async <T>(
      privileged: boolean,
      use: (helper: HelperClient) => Promise<T>,
    ): Promise<T> => {
      const { spawnHelper } = await import('../helper/helper-client.ts');
      const helper = await spawnHelper({
        sysroot: sysrootFrom(values.sysroot),
        ...(values.os ? { os: values.os } : {}),
        mode: privileged ? 'manage' : 'read',
        privileged,
        // pkexec asks on the terminal only when there is one (else it prints a /dev/tty error first).
        interactiveAuth: process.stdin.isTTY === true,
        onStderr: (text) => io.err(text),
      });
      try {
        return await use(helper);
      } finally {
        await helper.close();
      }
    };
    const change = async <M extends HelperMethod>(
      method: M,
      params: Omit<HelperParams<M>, 'sysroot' | 'os'>,
    ): Promise<HelperResult<M>> =>
      withHelper(true, (helper) =>
        helper.call(method, { ...target, ...params } as HelperParams<M>, progress),
      );

    refuseOnSnapper(command, rest[0], values.sysroot);
    /** The system at --sysroot through the backend seam: OSTree or snapper, by what the folder holds. */
    const openTarget = async () => {
      const { openSystem } = await import('../core/system/open.ts');
      const store = await cache();
      return openSystem({
        root: sysrootFrom(values.sysroot),
        ...(values.os !== undefined ? { stateroot: values.os } : {}),
        ...(store ? { store } : {}),
      });
    };

    switch (command) {
      case 'status': {
        want(rest, 0, 0, 'status');
        const system = await openTarget();
        if (system.kind === 'snapper') {
          const report = await system.read();
          const { formatSnapperStatus } = await import('./format-snapper.ts');
          // Each snapshot once, in full; a change names its snapshots by number.
          const changes = report.changes.map((c) =>
            c.kind === 'single'
              ? { kind: c.kind, number: c.number, description: c.description }
              : {
                  kind: c.kind,
                  description: c.description,
                  userdata: c.userdata,
                  pre: c.pre?.number ?? null,
                  post: c.post?.number ?? null,
                },
          );
          emit(
            { backend: system.kind, ...report, changes },
            formatSnapperStatus(report, system.describe(report)),
          );
          return 0;
        }
        const { withStagedUpdate } = await import('../helper/state.ts');
        const report = withStagedUpdate(await system.read());
        const notes = await readNotes();
        const withNotes = report.deployments.map((d) => {
          const n = notes.get(noteKey(d));
          return { ...d, note: n?.note || null, label: n?.label ?? null };
        });
        // JSON readers get what each deployment costs on disk; the table stays as quick as ostree's.
        const disk = json ? (await import('../core/ostree/disk-usage.ts')).diskUsage(report) : undefined;
        emit(
          { deployments: withNotes, stagedUpdate: report.stagedUpdate, disk },
          formatStatus(report, notes),
        );
        return 0;
      }
      case 'disk': {
        want(rest, 0, 0, 'disk');
        const system = await openTarget();
        if (system.kind === 'snapper')
          throw new HindsightError(
            'unsupported',
            'disk reads OSTree deployments; snapper keeps its snapshots as btrfs subvolumes',
          );
        const report = await system.read();
        const { diskUsage } = await import('../core/ostree/disk-usage.ts');
        const usage = diskUsage(report);
        emit(usage, formatDisk(usage, report));
        return 0;
      }
      case 'packages': {
        if (rest[0] !== 'diff') throw usageError('usage: hindsight packages diff FROM TO');
        want(rest, 3, 3, 'packages diff FROM TO');
        const [from, to] = [rest[1] as string, rest[2] as string];
        const system = await openTarget();
        if (system.kind === 'snapper') {
          const report = await system.read();
          const delta = await system.packageDelta(report, from, to);
          const { formatSnapperPackageDelta } = await import('./format-snapper.ts');
          const shown = { backend: system.kind, root: report.root, config: report.config, ...delta };
          if (values.changelogs) {
            const { snapshotChangelogs } = await import('../core/snapper/backend.ts');
            const changelogs = snapshotChangelogs(report, from, to);
            emit(
              { ...shown, changelogs },
              `${formatSnapperPackageDelta(delta, system.describe(report))}\n${formatChangelogs(changelogs)}`,
            );
            return 0;
          }
          emit(shown, formatSnapperPackageDelta(delta, system.describe(report)));
          return 0;
        }
        const report = await system.read();
        const delta = await system.packageDelta(report, from, to);
        if (values.changelogs) {
          const { packageChangelogs } = await import('../core/packages/package-delta.ts');
          const changelogs = await packageChangelogs(report, from, to);
          emit({ ...delta, changelogs }, `${formatPackageDelta(delta)}\n${formatChangelogs(changelogs)}`);
          return 0;
        }
        emit(delta, formatPackageDelta(delta));
        return 0;
      }
      case 'files': {
        if (rest[0] === 'restore') {
          want(rest, 3, 3, 'files restore SNAPSHOT PATH');
          if (snapperRootOf(values.sysroot) === null)
            throw new HindsightError('unsupported', 'files restore is for snapper roots so far');
          const result = await change('snapperRestore', {
            from: rest[1] as string,
            path: { path: rest[2] as string },
          });
          const { formatSnapperOperation } = await import('./format-snapper.ts');
          emit(result, formatSnapperOperation(result));
          return 0;
        }
        if (rest[0] === 'show') {
          want(rest, 3, 3, 'files show DEPLOYMENT|COMMIT PATH');
          const system = await openTarget();
          if (system.kind === 'snapper')
            throw new HindsightError(
              'unsupported',
              'files show reads OSTree deployments and commits; on snapper, read .snapshots/N/snapshot/PATH',
            );
          const { showFile } = await import('../core/ostree/files-diff.ts');
          const bytes = showFile(await system.read(), rest[1] as string, rest[2] as string);
          if (json) emit({ path: rest[2], size: bytes.length, base64: bytes.toString('base64') }, '');
          else (io.outBytes ?? ((b: Buffer) => io.out(b.toString('utf8'))))(bytes);
          return 0;
        }
        if (rest[0] !== 'diff') throw usageError('usage: hindsight files diff|show|restore ...');
        want(rest, 3, Number.POSITIVE_INFINITY, 'files diff FROM TO [PATH...]');
        const system = await openTarget();
        if (system.kind !== 'snapper') {
          const report = await system.read();
          const { filesDiff } = await import('../core/ostree/files-diff.ts');
          const diff = filesDiff(report, rest[1] as string, rest[2] as string, rest.slice(3));
          // The CLI prints every entry; `truncated` keeps the shape the app's answer has.
          emit({ ...diff, truncated: false }, formatFilesDiff(diff));
          return 0;
        }
        const report = await system.read();
        const { snapshotFiles } = await import('../core/snapper/files.ts');
        const files = snapshotFiles(report, rest[1] as string, rest[2] as string, rest.slice(3));
        const { formatSnapperFiles } = await import('./format-snapper.ts');
        emit(
          { backend: system.kind, root: report.root, config: report.config, ...files },
          formatSnapperFiles(files, system.describe(report)),
        );
        return 0;
      }
      case 'rollback': {
        want(rest, 0, 0, 'rollback [--to DEPLOYMENT]');
        if (snapperRootOf(values.sysroot) !== null) {
          const result = values.undo
            ? await change('snapperUndoRollback', {})
            : await change('snapperRollback', {
                to: values.to ?? throwUsage('on a snapper root: rollback --to SNAPSHOT, or rollback --undo'),
              });
          const { formatSnapperOperation } = await import('./format-snapper.ts');
          emit(result, formatSnapperOperation(result));
          return 0;
        }
        if (values.undo)
          throw usageError('rollback --undo is for snapper roots; on OSTree run rollback again');
        const result = await change('rollback', values.to !== undefined ? { to: values.to } : {});
        emit(result, formatOperation(result));
        return 0;
      }
      case 'upgrade': {
        want(rest, 0, 0, 'upgrade [--check]');
        // Whether anything here runs (else the current deployment is only the next boot), for the wording.
        const booted = json
          ? undefined
          : await status().then(
              (r) => r.deployments.some((d) => d.booted),
              () => undefined,
            );
        const shown = booted === undefined ? {} : { booted };
        if (values.check) {
          const check = await withHelper(true, (helper) =>
            helper.call('upgradeCheck', { ...target }, progress),
          );
          emit(check, formatUpgradeCheck(check, shown));
          return 0;
        }
        const outcome = await withHelper(true, async (helper) => {
          const check = await helper.call('upgradeCheck', { ...target }, progress);
          if (!json) io.out(formatUpgradeCheck(check, shown));
          if (!check.available) return { check, result: null };
          if (!json) io.out('\n');
          const result = await helper.call(
            'upgrade',
            { ...target, commit: check.available.checksum },
            progress,
          );
          return { check, result };
        });
        if (json) io.out(`${JSON.stringify(outcome, null, 2)}\n`);
        else if (outcome.result) io.out(formatOperation(outcome.result));
        return 0;
      }
      case 'deploy': {
        want(rest, 1, 1, 'deploy COMMIT|VERSION');
        const result = await change('deploy', { commit: rest[0] as string });
        emit(result, formatOperation(result));
        return 0;
      }
      case 'pin':
      case 'unpin':
      case 'undeploy': {
        want(rest, 1, 1, `${command} DEPLOYMENT`);
        const result = await change(command, { deployment: rest[0] as string });
        emit(result, formatOperation(result));
        return 0;
      }
      case 'cancel': {
        want(rest, 0, 0, 'cancel');
        const result = await change('cancel', {});
        emit(result, formatOperation(result));
        return 0;
      }
      case 'reboot': {
        want(rest, 0, 0, 'reboot');
        const result = await change('reboot', {});
        emit(result, `${result.message}\n`);
        return 0;
      }
      case 'history': {
        want(rest, 0, 0, 'history [--limit N]');
        const limit = values.limit === undefined ? undefined : Number(values.limit);
        if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 10_000)) {
          throw usageError('--limit is a number from 1 to 10000');
        }
        if (snapperRootOf(values.sysroot) !== null) {
          // snapper keeps its own history: the pre/post pairs and single snapshots it took.
          const system = await openTarget();
          if (system.kind !== 'snapper') throw new HindsightError('internal', 'not a snapper root');
          const report = await system.read();
          const { snapperHistory, formatSnapperHistory } = await import('./format-snapper.ts');
          const all = snapperHistory(report);
          const shown = limit === undefined ? all : all.slice(0, limit);
          emit(
            {
              backend: system.kind,
              root: report.root,
              config: report.config,
              total: all.length,
              changes: shown,
            },
            formatSnapperHistory(shown, all.length, system.describe(report)),
          );
          return 0;
        }
        const records = await withHelper(false, (helper) =>
          helper.call('history', { ...target, ...(limit !== undefined ? { limit } : {}) }),
        );
        emit(records, formatHistory(records));
        return 0;
      }
      case 'etc': {
        const [sub, ...args] = rest;
        if (sub === 'apply') {
          want(args, 2, 2, 'etc apply SOURCE TARGET (--path P --take X)... | --resolutions FILE');
          const resolutions = await readResolutions(values.path ?? [], values.take ?? [], values.resolutions);
          const result = await change('etcApply', {
            source: args[0] as string,
            target: args[1] as string,
            resolutions,
            ...(values['allow-booted'] ? { allowBooted: true } : {}),
          });
          emit(result, formatEtcApply(result, 'Wrote'));
          return 0;
        }
        if (sub === 'restore') {
          want(args, 2, 2, 'etc restore DEPLOYMENT PATH --from default|DEPLOYMENT [--allow-booted]');
          if (values.from === undefined)
            throw usageError("etc restore needs --from default (the image's file) or --from DEPLOYMENT");
          const result = await change('etcRestore', {
            deployment: args[0] as string,
            path: { path: (args[1] as string).replace(/^\/?etc\//, '') },
            ...(values.from !== 'default' ? { from: values.from } : {}),
            ...(values['allow-booted'] ? { allowBooted: true } : {}),
          });
          emit(result, formatEtcApply(result, 'Put back'));
          return 0;
        }
        if (sub === 'resolve') {
          want(args, 1, 1, 'etc resolve PATH --take merged|local|upstream');
          const take = values.take?.[0];
          if (values.take?.length !== 1 || !(TAKES as readonly string[]).includes(take as string))
            throw usageError('etc resolve takes one --take merged|local|upstream');
          const result = await change('snapperApplyMerge', {
            path: { path: args[0] as string },
            take: take as (typeof TAKES)[number],
          });
          const { formatSnapperOperation } = await import('./format-snapper.ts');
          emit(result, formatSnapperOperation(result));
          return 0;
        }
        if (sub === 'undo' && snapperRootOf(values.sysroot) !== null) {
          want(args, 1, 1, 'etc undo BACKUP (the id restore or resolve printed)');
          const result = await change('snapperUndoFile', { backupId: args[0] as string });
          const { formatSnapperOperation } = await import('./format-snapper.ts');
          emit(result, formatSnapperOperation(result));
          return 0;
        }
        if (sub === 'undo') {
          want(args, 0, 1, 'etc undo [BACKUP]');
          const result = await change('etcUndo', args[0] !== undefined ? { backupId: args[0] } : {});
          emit(result, formatEtcApply(result, 'Restored'));
          return 0;
        }
        if (sub === 'backups') {
          if (args[0] === 'remove') {
            want(args, 2, 2, 'etc backups remove BACKUP');
            const result = await change('etcRemoveBackup', { backupId: args[1] as string });
            emit(result, `Removed /etc backup ${result.backupId}; it can no longer be undone.\n`);
            return 0;
          }
          want(args, 0, 0, 'etc backups [remove BACKUP]');
          const list = await withHelper(false, (helper) => helper.call('etcBackups', { ...target }));
          emit(list, formatEtcBackups(list));
          return 0;
        }
        if (sub === 'drift') {
          want(args, 0, 1, 'etc drift [DEPLOYMENT]');
          if (snapperRootOf(values.sysroot) !== null) {
            if (values.diff) throw usageError('etc drift --diff is for OSTree deployments only so far');
            const system = await openTarget();
            if (system.kind !== 'snapper') throw new HindsightError('internal', 'not a snapper root');
            const report = await system.read();
            const { snapshotDrift } = await import('../core/snapper/files.ts');
            // The live root: on a booted system what runs now, on a mounted one what was last written.
            const drift = await snapshotDrift(report, args[0] ?? 'current');
            const { formatSnapperDrift } = await import('./format-snapper.ts');
            emit(
              { backend: system.kind, root: report.root, config: report.config, ...drift },
              formatSnapperDrift(drift, system.describe(report)),
            );
            return 0;
          }
          const report = await status();
          const selector = args[0] ?? (report.deployments.some((d) => d.booted) ? 'booted' : 'default');
          const { etcDrift } = await import('../core/etc/etc-drift.ts');
          const drift = etcDrift(report, selector, { diffs: values.diff, store: await cache() });
          emit(drift, formatDrift(drift));
          return 0;
        }
        if (sub === 'merge') {
          want(args, 2, 2, 'etc merge SOURCE TARGET');
          const { etcMerge } = await import('../core/etc/etc-merge.ts');
          const merge = await etcMerge(await status(), args[0] as string, args[1] as string);
          emit(merge, formatMerge(merge));
          return 0;
        }
        throw usageError('usage: hindsight etc drift|merge|apply|undo|backups ...');
      }
      case 'rollback-preview': {
        want(rest, 0, 1, 'rollback-preview [TARGET]');
        const { rollbackPreview } = await import('../core/rollback-preview.ts');
        const preview = await rollbackPreview(await status(), rest[0] ?? 'rollback');
        emit(preview, formatRollbackPreview(preview));
        return 0;
      }
      case 'snapshot': {
        const [sub, number, ...more] = rest;
        if (snapperRootOf(values.sysroot) === null)
          throw new HindsightError('unsupported', 'snapshot modify and delete are for snapper roots');
        const numberOf = (text: string | undefined): number => {
          if (text === undefined || !/^[1-9]\d{0,9}$/.test(text))
            throw usageError(`a snapshot number, not "${text ?? ''}"`);
          return Number(text);
        };
        let result: HelperResult<'snapperModify'>;
        if (sub === 'modify') {
          want(more, 0, 0, 'snapshot modify N [--description D] [--userdata K=V,...] [--cleanup ALGORITHM]');
          result = await change('snapperModify', {
            snapshot: numberOf(number),
            ...(values.description !== undefined ? { description: values.description } : {}),
            ...(values.userdata !== undefined ? { userdata: parseUserdata(values.userdata) } : {}),
            ...(values.cleanup !== undefined
              ? { cleanup: values.cleanup as HelperParams<'snapperModify'>['cleanup'] & string }
              : {}),
          });
        } else if (sub === 'delete') {
          want(more, 0, 1, 'snapshot delete N [M]');
          result = await change('snapperDelete', {
            snapshots: [numberOf(number), ...more.map(numberOf)],
          });
        } else throw usageError('usage: hindsight snapshot modify|delete N ...');
        const { formatSnapperOperation } = await import('./format-snapper.ts');
        emit(result, formatSnapperOperation(result));
        return 0;
      }
      case 'demo': {
        if (values.snapper !== undefined) {
          want(rest, 0, 0, 'demo --snapper DIR');
          const { buildSnapperDemo, snapperDemoSkipReason } = await import(
            '../core/fixtures/snapper-demo.ts'
          );
          const why = snapperDemoSkipReason();
          if (why) throw new HindsightError('unsupported', `cannot build a snapper root here: ${why}`);
          const demo = buildSnapperDemo(values.snapper, (line) => {
            if (!json) io.err(`${line}\n`);
          });
          emit(
            demo,
            `${demo.reused ? 'Snapper root already built' : 'Snapper root ready'}: ${demo.root}\nTry: hindsight status --sysroot ${demo.root}, or hindsight start --sysroot ${demo.root}\n`,
          );
          return 0;
        }
        want(rest, 0, 1, 'demo [DIR]');
        const { buildDemo, defaultDemoDir } = await import('../core/fixtures/demo.ts');
        const demo = buildDemo(rest[0] ?? defaultDemoDir(), (line) => {
          if (!json) io.err(`${line}\n`);
        });
        emit(demo, `Demo sysroot ready: ${demo.sysroot}\nTry: hindsight status --sysroot ${demo.sysroot}\n`);
        return 0;
      }
      case 'serve':
      case 'start': {
        want(rest, 0, 0, command);
        const port = values.port === undefined ? undefined : Number(values.port);
        if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
          throw usageError(`--port must be a port number, not "${values.port}"`);
        }
        // Loaded only here: the app side pulls in the HTTP server, the cache and Electron's launcher.
        const options = { sysroot: values.sysroot, stateroot: values.os, port, out: io.out, err: io.err };
        // Awaited here, inside this try: a failure to start (a port in use, a data folder that cannot
        // be written) is then reported below in one line, not thrown past runCli with its stack.
        if (command === 'serve') return await (await import('../main/serve.ts')).runServe(options);
        return await (await import('../main/launch-electron.ts')).runStart(options);
      }
      default:
        throw usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const payload = toErrorPayload(error);
    setColour(errColour);
    io.err(`${paint('red', 'hindsight:')} ${payload.message}\n`);
    setColour(false);
    if (json) io.out(`${JSON.stringify({ error: payload })}\n`);
    if (payload.code === 'internal' && process.env.HINDSIGHT_DEBUG)
      io.err(`${(error as Error).stack ?? ''}\n`);
    return payload.code === 'bad-request' || payload.code === 'bad-selector' ? 2 : 1;
  }
}
