import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HindsightError, toErrorPayload } from '../../shared/errors.ts';
import { etcDrift } from '../core/etc/etc-drift.ts';
import { etcMerge } from '../core/etc/etc-merge.ts';
import { buildDemo, defaultDemoDir } from '../core/fixtures/demo.ts';
import { readStatus } from '../core/ostree/sysroot.ts';
import { packageDelta } from '../core/packages/package-delta.ts';
import { rollbackPreview } from '../core/rollback-preview.ts';
import {
  formatDrift,
  formatMerge,
  formatPackageDelta,
  formatRollbackPreview,
  formatStatus,
} from './format.ts';

const USAGE = `Usage: hindsight COMMAND [ARGS] [--sysroot DIR] [--os NAME] [--json]

Commands:
  status                         deployments and their states
  packages diff FROM TO          package delta between two deployments or commits
  etc drift [DEPLOYMENT] [--diff]
                                 /etc changes of a deployment against its image's defaults
  etc merge SOURCE TARGET        what happens to SOURCE's /etc edits on the way to TARGET
  rollback-preview [TARGET]      what rolling back to TARGET (default: rollback) changes
  demo [DIR]                     build a real demo sysroot (default: ${defaultDemoDir()})

Selectors: an index (0), booted, default, pending, rollback, staged, a commit checksum or
prefix, or a ref. --sysroot defaults to / on a booted OSTree system.`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const OPTIONS = {
  sysroot: { type: 'string' },
  os: { type: 'string' },
  json: { type: 'boolean', default: false },
  diff: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function usageError(message: string): HindsightError {
  return new HindsightError('bad-request', `${message} (see hindsight --help)`);
}

function sysrootFrom(value: string | undefined): string {
  if (value !== undefined) return value;
  if (existsSync('/run/ostree-booted')) return '/';
  throw new HindsightError(
    'not-a-sysroot',
    'this machine is not booted from OSTree; pass --sysroot DIR (try: hindsight demo, then --sysroot <demo>/sysroot)',
  );
}

function want(positionals: string[], min: number, max: number, usage: string): void {
  if (positionals.length < min || positionals.length > max) throw usageError(`usage: hindsight ${usage}`);
}

/** Runs one CLI invocation and returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw usageError((error as Error).message.split('\n')[0] ?? 'bad arguments');
    }
    const { values, positionals } = parsed;
    json = values.json;
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      io.out(`${USAGE}\n`);
      return command || values.help ? 0 : 2;
    }
    const emit = (data: unknown, human: string): void =>
      io.out(json ? `${JSON.stringify(data, null, 2)}\n` : human);
    const status = () => readStatus({ sysroot: sysrootFrom(values.sysroot), stateroot: values.os });

    switch (command) {
      case 'status': {
        want(rest, 0, 0, 'status');
        const report = await status();
        emit(json ? { deployments: report.deployments } : report, formatStatus(report));
        return 0;
      }
      case 'packages': {
        if (rest[0] !== 'diff') throw usageError('usage: hindsight packages diff FROM TO');
        want(rest, 3, 3, 'packages diff FROM TO');
        const delta = await packageDelta(await status(), rest[1] as string, rest[2] as string);
        emit(delta, formatPackageDelta(delta));
        return 0;
      }
      case 'etc': {
        const [sub, ...args] = rest;
        if (sub === 'drift') {
          want(args, 0, 1, 'etc drift [DEPLOYMENT]');
          const report = await status();
          const selector = args[0] ?? (report.deployments.some((d) => d.booted) ? 'booted' : 'default');
          const drift = etcDrift(report, selector, { diffs: values.diff });
          emit(drift, formatDrift(drift));
          return 0;
        }
        if (sub === 'merge') {
          want(args, 2, 2, 'etc merge SOURCE TARGET');
          const merge = await etcMerge(await status(), args[0] as string, args[1] as string);
          emit(merge, formatMerge(merge));
          return 0;
        }
        throw usageError('usage: hindsight etc drift|merge ...');
      }
      case 'rollback-preview': {
        want(rest, 0, 1, 'rollback-preview [TARGET]');
        const preview = await rollbackPreview(await status(), rest[0] ?? 'rollback');
        emit(preview, formatRollbackPreview(preview));
        return 0;
      }
      case 'demo': {
        want(rest, 0, 1, 'demo [DIR]');
        const demo = buildDemo(rest[0] ?? defaultDemoDir(), (line) => {
          if (!json) io.err(`${line}\n`);
        });
        emit(demo, `Demo sysroot ready: ${demo.sysroot}\nTry: hindsight status --sysroot ${demo.sysroot}\n`);
        return 0;
      }
      default:
        throw usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const payload = toErrorPayload(error);
    io.err(`hindsight: ${payload.message}\n`);
    if (json) io.out(`${JSON.stringify({ error: payload })}\n`);
    if (payload.code === 'internal' && process.env.HINDSIGHT_DEBUG)
      io.err(`${(error as Error).stack ?? ''}\n`);
    return payload.code === 'bad-request' || payload.code === 'bad-selector' ? 2 : 1;
  }
}
