/**
 * `skipscape import`: a surface file of Li et al.'s `plot_surface.py` (HDF5:
 * `xcoordinates`, `ycoordinates`, `train_loss`, `train_acc`, …) as our surface
 * JSON, to view in the explorer, merge or export. The reader is the one the
 * explorer uses (src/compute/landscape/hdf5.ts); the mapping is explained
 * there. An existing --out is replaced only with --force.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseHdf5Surface } from '../../compute/landscape/hdf5';
import { HELP_FLAG, helpText, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { readInputFile } from '../files';
import { writeSurfaceFile } from '../landscape-io';
import type { Command } from './types';

const NAME = 'import';

const FLAGS = {
  out: { type: 'string', value: 'FILE.json', help: 'the surface file to write' },
  split: {
    type: 'string',
    value: 'train|test',
    help: 'which losses to take when the file has both (default train)',
  },
  force: { type: 'boolean', help: 'replace an existing --out instead of refusing' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

/** Flags that take the next argument as their value. */
const VALUE_FLAGS = new Set(
  Object.entries(FLAGS).flatMap(([name, spec]) => (spec.type === 'string' ? [`--${name}`] : [])),
);

export const importCommand: Command = {
  name: NAME,
  summary: "a surface file of Li et al.'s plot_surface.py (HDF5) as a Skipscape surface",
  help: () =>
    helpText({
      usage: 'skipscape import FILE.h5 --out FILE.json [--split train|test] [--force]',
      summary:
        "Reads the HDF5 surface file Li et al.'s loss-landscape code writes (plot_surface.py:\n" +
        'xcoordinates, ycoordinates, train_loss, train_acc, test_loss, test_acc; 1-D files too) and\n' +
        'writes it as a Skipscape surface (JSON), which the explorer opens and export converts.\n' +
        'Points still at -1 (not computed) stay not computed; NaN points are diverged; accuracy goes\n' +
        'from percent to [0, 1]. Model, normalisation and biases come from the file name of its\n' +
        'direction file (dir_file) where it says; files written by skipscape export keep their metadata.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    // The file is the one argument that is neither a flag nor a flag's value, wherever it stands.
    const at = argv.findIndex(
      (a, k) => !a.startsWith('-') && !(k > 0 && VALUE_FLAGS.has(argv[k - 1] as string)),
    );
    const file = at < 0 ? undefined : argv[at];
    const flags = parseFlags(
      NAME,
      FLAGS,
      argv.filter((_, k) => k !== at),
    );
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    if (file === undefined) {
      throw new UsageError(
        `${NAME}: name the HDF5 file first: skipscape import FILE.h5 --out FILE.json`,
      );
    }
    const out = required(NAME, 'out', flags.out);
    const split =
      flags.split === undefined
        ? undefined
        : oneOf(NAME, 'split', flags.split, ['train', 'test'] as const);
    if (resolve(out) === resolve(file)) {
      throw new UsageError(`${NAME}: --out ${out} is the HDF5 file itself`);
    }
    if (existsSync(out) && !flags.force) {
      throw new UsageError(`${NAME}: ${out} exists; replace it with --force`);
    }
    const bytes = await readInputFile(file);
    const surface = await parseHdf5Surface(bytes, file, split ? { split } : {});
    await writeSurfaceFile(out, surface);
    const computed = surface.mask.reduce<number>((n, m) => n + m, 0);
    io.err(
      `${NAME}: ${surface.xs.length}×${surface.ys.length} ${surface.meta.split} surface (${computed}/${surface.mask.length} points computed) → ${out}\n`,
    );
    return 0;
  },
};
