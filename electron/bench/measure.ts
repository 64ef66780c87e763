import { readFileSync } from 'node:fs';
import { HindsightError } from '../../shared/errors.ts';
import { runSync } from '../core/exec.ts';

/** Timing primitives: warm-up first, then several runs; the figures are medians with their spread. */

export interface Stats {
  runs: number;
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  /** Interquartile range over the median: how steady the runs were. */
  spread: number;
  samples: number[];
  /**
   * Median CPU time per run (ms): this process's own plus that of the programs it waited for.
   * Unlike wall time it barely moves when other work shares the machine.
   */
  cpuMedian?: number;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (at - lo);
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const p25 = quantile(sorted, 0.25);
  const p75 = quantile(sorted, 0.75);
  return {
    runs: samples.length,
    median: round(median),
    min: round(sorted[0] ?? 0),
    max: round(sorted[sorted.length - 1] ?? 0),
    p25: round(p25),
    p75: round(p75),
    spread: median > 0 ? round((p75 - p25) / median, 3) : 0,
    samples: samples.map((s) => round(s)),
  };
}

export interface SampleOptions {
  warmup: number;
  runs: number;
}

export type Task = () => unknown;

/** Linux reports children's CPU time in clock ticks of 1/100 s (USER_HZ on every common arch). */
const TICK_MS = 10;

/** CPU time (ms) of the programs this process has waited for: fields cutime and cstime of /proc/self/stat. */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
  } catch {
    return 0;
  }
}

interface Run {
  wall: number;
  cpu: number;
}

async function once(task: Task): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  const started = performance.now();
  await task();
  const wall = performance.now() - started;
  const own = process.cpuUsage(cpu0);
  return { wall, cpu: (own.user + own.system) / 1000 + childrenCpuMs() - children0 };
}

function statsOf(runs: Run[]): Stats {
  const cpu = stats(runs.map((r) => r.cpu));
  return { ...stats(runs.map((r) => r.wall)), cpuMedian: cpu.median };
}

/** Times one task: `warmup` untimed runs, then `runs` timed ones (milliseconds). */
export async function sample(task: Task, options: SampleOptions): Promise<Stats> {
  for (let i = 0; i < options.warmup; i++) await task();
  const out: Run[] = [];
  for (let i = 0; i < options.runs; i++) out.push(await once(task));
  return statsOf(out);
}

/**
 * Times several tasks in turn (A, B, C, A, B, C…), so that whatever else the machine does during
 * the run weighs on all of them alike and their ratios stay fair.
 */
export async function sampleGroup(tasks: Task[], options: SampleOptions): Promise<Stats[]> {
  for (let i = 0; i < options.warmup; i++) for (const task of tasks) await task();
  const runs: Run[][] = tasks.map(() => []);
  for (let i = 0; i < options.runs; i++) {
    for (const [k, task] of tasks.entries()) runs[k]?.push(await once(task));
  }
  return runs.map(statsOf);
}

export async function samplePair(a: Task, b: Task, options: SampleOptions): Promise<[Stats, Stats]> {
  const [sa, sb] = await sampleGroup([a, b], options);
  return [sa as Stats, sb as Stats];
}

/** A whole process as a task: started, run to completion, its output collected and dropped. */
export function processTask(program: string, args: string[], okCodes: number[] = [0]): Task {
  return () => {
    const result = runSync(program, args);
    if (!okCodes.includes(result.code)) {
      throw new HindsightError(
        'internal',
        `${[program, ...args].join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`,
      );
    }
  };
}

/** Least-squares slope of log(time) over log(size): 1 is linear, above 1 grows faster than linear. */
export function growthExponent(points: { size: number; ms: number }[]): number {
  const xs = points.map((p) => Math.log(p.size));
  const ys = points.map((p) => Math.log(p.ms));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den ? round(num / den, 3) : 0;
}
