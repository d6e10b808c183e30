/**
 * `--shard i/n` or `--shard auto`: which share of a grid this process
 * computes. `auto` takes the index and count from the cluster engine that
 * started the process, so one job script serves every shard:
 *
 *   Slurm job array    index = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP
 *                      count = SLURM_ARRAY_TASK_COUNT
 *                      (sbatch --array=0-7, or 1-8, or 0-14:2: any evenly spaced range)
 *   Kubernetes         index = JOB_COMPLETION_INDEX (an Indexed Job, 0-based)
 *   Indexed Job        count = --shards N, or JOB_COMPLETION_COUNT when the manifest sets it
 *                      (Kubernetes sets the index only; the count is the Job's `completions`)
 *
 * Nothing is scheduled here: the engine runs the processes, each writes its
 * own file (and resumes it with --resume), and `skipscape merge` joins them.
 */
import { parseShard } from '../compute/landscape/grid';
import type { Shard } from '../compute/landscape/grid';
import { integer, UsageError } from './args';

export interface ResolvedShard {
  shard: Shard;
  /** Where the shard came from, in words, for the log line. */
  source: string;
}

type Env = Record<string, string | undefined>;

function wholeVariable(command: string, env: Env, name: string, min: number): number {
  const value = env[name]!;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new UsageError(
      `${command}: --shard auto: ${name}=${JSON.stringify(value)} is not a whole number ≥ ${min}`,
    );
  }
  return n;
}

/**
 * The shard to compute from `--shard` (i/n or auto), `--shards N` (the count,
 * for a Kubernetes Indexed Job) and the environment; undefined for the whole grid.
 */
export function resolveShard(options: {
  command: string;
  shard: string | undefined;
  shards: string | undefined;
  env: Env;
}): ResolvedShard | undefined {
  const { command, env } = options;
  if (options.shard === undefined) {
    if (options.shards !== undefined)
      throw new UsageError(`${command}: --shards N goes with --shard auto`);
    return undefined;
  }
  if (options.shard !== 'auto') {
    if (options.shards !== undefined)
      throw new UsageError(`${command}: --shards N goes with --shard auto, not --shard i/n`);
    try {
      return { shard: parseShard(options.shard), source: '--shard' };
    } catch (e) {
      throw new UsageError(
        `${command}: --${e instanceof Error ? e.message : String(e)} (or --shard auto)`,
      );
    }
  }
  const slurm = env['SLURM_ARRAY_TASK_ID'] !== undefined;
  const kubernetes = env['JOB_COMPLETION_INDEX'] !== undefined;
  if (slurm && kubernetes) {
    throw new UsageError(
      `${command}: --shard auto: both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; give --shard i/n`,
    );
  }
  if (slurm) {
    for (const name of ['SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_COUNT']) {
      if (env[name] === undefined)
        throw new UsageError(
          `${command}: --shard auto: SLURM_ARRAY_TASK_ID is set but ${name} is not`,
        );
    }
    const id = wholeVariable(command, env, 'SLURM_ARRAY_TASK_ID', 0);
    const min = wholeVariable(command, env, 'SLURM_ARRAY_TASK_MIN', 0);
    const count = wholeVariable(command, env, 'SLURM_ARRAY_TASK_COUNT', 1);
    const step =
      env['SLURM_ARRAY_TASK_STEP'] === undefined
        ? 1
        : wholeVariable(command, env, 'SLURM_ARRAY_TASK_STEP', 1);
    const offset = id - min;
    const index = offset / step;
    if (offset < 0 || !Number.isInteger(index) || index >= count) {
      throw new UsageError(
        `${command}: --shard auto: task ${id} of a Slurm array with min ${min}, step ${step} and ${count} tasks ` +
          'is not one of min, min + step, …: use an evenly spaced --array (e.g. 0-15), or --shard i/n',
      );
    }
    return {
      shard: { index, count },
      source:
        `Slurm job array (SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_MIN=${min}` +
        `${step !== 1 ? `, SLURM_ARRAY_TASK_STEP=${step}` : ''}, SLURM_ARRAY_TASK_COUNT=${count})`,
    };
  }
  if (kubernetes) {
    const index = wholeVariable(command, env, 'JOB_COMPLETION_INDEX', 0);
    let count: number;
    let countFrom: string;
    if (options.shards !== undefined) {
      count = integer(command, 'shards', options.shards, 1);
      countFrom = `--shards ${count}`;
    } else if (env['JOB_COMPLETION_COUNT'] !== undefined) {
      count = wholeVariable(command, env, 'JOB_COMPLETION_COUNT', 1);
      countFrom = `JOB_COMPLETION_COUNT=${count}`;
    } else {
      throw new UsageError(
        `${command}: --shard auto: JOB_COMPLETION_INDEX=${index} is set but not the count: ` +
          "give --shards N (the Job's completions) or set JOB_COMPLETION_COUNT",
      );
    }
    if (index >= count) {
      throw new UsageError(
        `${command}: --shard auto: JOB_COMPLETION_INDEX=${index} is not below the count ${count} (${countFrom})`,
      );
    }
    return {
      shard: { index, count },
      source: `Kubernetes Indexed Job (JOB_COMPLETION_INDEX=${index}, ${countFrom})`,
    };
  }
  throw new UsageError(
    `${command}: --shard auto found no cluster engine: set by a Slurm job array (SLURM_ARRAY_TASK_ID, ` +
      'SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX ' +
      'with --shards N); elsewhere give --shard i/n',
  );
}

/**
 * The shard a command computes, from its flags and the environment, saying on
 * stderr where an automatic one came from; undefined for the whole grid.
 */
export function shardFromFlags(
  command: string,
  flags: { shard?: string | undefined; shards?: string | undefined },
  err: (text: string) => void,
): Shard | undefined {
  const resolved = resolveShard({
    command,
    shard: flags.shard,
    shards: flags.shards,
    env: process.env,
  });
  if (resolved && resolved.source !== '--shard')
    err(
      `${command}: --shard auto: shard ${resolved.shard.index + 1}/${resolved.shard.count} from the ${resolved.source}\n`,
    );
  return resolved?.shard;
}
