// Runs one CLI command from the bundle in this process, several times over (the first call cold,
// the others with what the engine remembers), then reports the process's peak resident memory on
// stderr: the memory a long-lived engine process (the helper) needs for the job.
import { pathToFileURL } from 'node:url';

const [bundle, repeat, ...argv] = process.argv.slice(2);
const cli = await import(pathToFileURL(bundle).href);
let code = 0;
for (let i = 0; i < Number(repeat); i++) code ||= await cli.main(argv);
process.stderr.write(`\nHINDSIGHT_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
