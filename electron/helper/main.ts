import { realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toErrorPayload } from '../../shared/errors.ts';
import { HELPER_MODES, type HelperMode } from '../../shared/helper-contract.ts';
import { assertSysroot } from '../core/ostree/sysroot.ts';
import { detectBackend } from '../core/system/detect.ts';
import { defaultSystemRoot } from '../core/system/open.ts';
import { HelperServer } from './server.ts';

/**
 * hindsight-helper [read|manage] [--sysroot DIR] [--os NAME]
 *
 * The privileged half of Hindsight: JSON lines on stdin/stdout, nothing else (no socket, no file
 * it listens on). pkexec runs it as root; in development and tests it runs directly.
 */

/** The caller's environment must not steer a root process: keep what is needed, set the rest. */
function cleanEnvironment(): number | null {
  const callerUid = [process.env.PKEXEC_UID, process.env.SUDO_UID]
    .map((v) => (v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : null))
    .find((v) => v !== null);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    HOME: process.getuid?.() === 0 ? '/root' : '/',
  });
  return callerUid ?? process.getuid?.() ?? null;
}

const OPTIONS = { sysroot: { type: 'string' }, os: { type: 'string' } } as const;

function usage(message: string): never {
  process.stderr.write(`hindsight-helper: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  // Before anything runs a program: HINDSIGHT_PROGRAM_DIRS and friends are gone from here on.
  const uid = cleanEnvironment();
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    usage((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const [modeArg, ...extra] = parsed.positionals;
  if (extra.length) usage(`unexpected argument "${extra[0]}"`);
  const mode = (modeArg ?? 'manage') as HelperMode;
  if (!HELPER_MODES.includes(mode)) usage(`the mode is ${HELPER_MODES.join(', ')}, not "${modeArg}"`);
  const os = parsed.values.os;
  if (os !== undefined && !/^[\w.-]{1,255}$/.test(os)) usage('--os is not a stateroot name');
  let sysroot = parsed.values.sysroot;
  if (sysroot === undefined) {
    const found = defaultSystemRoot();
    if (found === null)
      usage('this machine is not booted from OSTree and / is no snapper root; pass --sysroot DIR');
    sysroot = found;
  }
  // A snapper root is checked by the snapper calls themselves; an OSTree sysroot up front, as always.
  const backend = detectBackend(sysroot) ?? 'ostree';
  try {
    sysroot = realpathSync(backend === 'snapper' ? sysroot : assertSysroot(sysroot));
  } catch (error) {
    usage(toErrorPayload(error).message);
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`hindsight-helper: internal error: ${toErrorPayload(error).message}\n`);
    process.exit(70);
  });
  const server = new HelperServer(
    { sysroot, mode, uid, backend, ...(os !== undefined ? { stateroot: os } : {}) },
    process.stdin,
    process.stdout,
    (code) => process.exit(code),
  );
  await server.start();
}

void main();
