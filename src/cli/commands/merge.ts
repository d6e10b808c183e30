/**
 * `skipscape merge OUT.json IN1.json IN2.json …`: join shards (or partial
 * runs) of one surface or one Hessian map into a single file. Inputs must
 * describe the same function on the same grid; a point two inputs both have
 * must agree.
 */
import { mergeSurfaces } from '../../compute/landscape/merge';
import { mergeHessianMaps } from '../../compute/landscape/hessian';
import { UsageError } from '../args';
import {
  readHessianMapFile,
  readSurfaceFile,
  writeJsonFile,
  writeSurfaceFile,
} from '../landscape-io';
import { assertWritable, readInputText } from '../files';
import type { Command } from './types';

const NAME = 'merge';

const HELP = `usage: skipscape merge OUT.json IN1.json IN2.json …

Joins shards (skipscape landscape|hessian --shard i/n) or partial runs of one
surface or Hessian map into OUT.json. The inputs must share model, checkpoint,
data, seed, normalisation and grid; a point computed in more than one input
must have the same values there. Seconds add up; differing backends are listed.

flags:
  --help, -h                     show this help
`;

async function isHessianMap(path: string): Promise<boolean> {
  const text = await readInputText(path);
  return /"lambdaMax"\s*:/.test(text.slice(0, 1 << 20));
}

export const mergeCommand: Command = {
  name: NAME,
  summary: 'join shards of a surface or Hessian map',
  help: () => HELP,
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out(HELP);
      return 0;
    }
    const flag = argv.find((a) => a.startsWith('-'));
    if (flag !== undefined) throw new UsageError(`${NAME}: unknown flag ${flag} (see --help)`);
    const [out, ...inputs] = argv;
    if (out === undefined || inputs.length === 0)
      throw new UsageError(`${NAME}: give OUT.json and at least one input (see --help)`);
    if (inputs.includes(out))
      throw new UsageError(`${NAME}: OUT.json is also an input; write to a new file`);
    assertWritable(out);
    const kinds = await Promise.all(inputs.map(isHessianMap));
    if (kinds.some((k) => k !== kinds[0]))
      throw new UsageError(`${NAME}: the inputs mix surfaces and Hessian maps`);
    let computed: number;
    let total: number;
    if (kinds[0]) {
      const merged = mergeHessianMaps(await Promise.all(inputs.map(readHessianMapFile)));
      await writeJsonFile(out, merged);
      computed = merged.mask.filter((m) => m === 1).length;
      total = merged.mask.length;
    } else {
      const merged = mergeSurfaces(await Promise.all(inputs.map(readSurfaceFile)));
      await writeSurfaceFile(out, merged);
      computed = merged.mask.filter((m) => m === 1).length;
      total = merged.mask.length;
    }
    io.err(
      `${NAME}: ${inputs.length} inputs → ${out}: ${computed}/${total} points computed${computed < total ? ' (incomplete)' : ''}\n`,
    );
    return 0;
  },
};
