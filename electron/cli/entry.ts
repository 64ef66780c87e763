import { runCli } from './main.ts';

/** Process entry: wires the CLI to stdout/stderr and waits for output to drain. */
export async function main(argv: string[]): Promise<number> {
  return runCli(argv, {
    out: (text) => process.stdout.write(text),
    outBytes: (bytes) => process.stdout.write(bytes),
    err: (text) => process.stderr.write(text),
    tty: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
  });
}
