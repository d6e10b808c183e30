/**
 * `skipscape export`: a surface file (from `landscape`, `merge` or
 * `trajectory`, or saved from the explorer) as CSV, JSON, an OBJ or glTF
 * mesh, a VTK structured grid for ParaView, or the contour view as SVG: the
 * same serialisers the explorer's export buttons use, so a file made here
 * and one saved from the page are the same bytes. Each carries the surface's
 * metadata and the command that recomputes it.
 */
import { dirname, join, resolve } from 'node:path';
import { EXPORT_FORMATS, exportFileName, exportSurface } from '../../compute/landscape/exports';
import type { ExportFormat } from '../../compute/landscape/exports';
import { helpText, integer, oneOf, parseFlags, positive, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { writeFileAtomic } from '../files';
import { readSurfaceFile } from '../landscape-io';
import type { Command } from './types';

const NAME = 'export';

const FORMAT_IDS = EXPORT_FORMATS.map((f) => f.id);

const FLAGS = {
  surface: { type: 'string', value: 'FILE.json', help: 'the surface file to export' },
  format: {
    type: 'string',
    value: `${FORMAT_IDS.join('|')}|all`,
    help: 'what to write (default all: one file per format)',
  },
  out: {
    type: 'string',
    value: 'FILE',
    help: 'the file to write (one format only; default: a descriptive name next to --surface)',
  },
  'out-dir': {
    type: 'string',
    value: 'DIR',
    help: 'where the files go (default: the folder of --surface)',
  },
  log: {
    type: 'boolean',
    help: 'mesh heights and colours from log10(loss) (default: loss itself; SVG is always log)',
  },
  'height-scale': {
    type: 'string',
    value: 'S',
    help: 'multiply mesh heights by S (default 1: heights in loss units)',
  },
  levels: { type: 'string', value: 'N', help: 'contour lines in the SVG (default 15)' },
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'the checkpoint path to put in the reproducing command (the surface records its sha256)',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies FlagSpecs;

export const exportCommand: Command = {
  name: NAME,
  summary: 'a surface as CSV, JSON, OBJ, glTF, VTK (.vts) or SVG, with its metadata',
  help: () =>
    helpText({
      usage:
        `skipscape export --surface FILE.json [--format ${FORMAT_IDS.join('|')}|all] [--out FILE | --out-dir DIR]\n` +
        '         [--log] [--height-scale S] [--levels N] [--checkpoint FILE]',
      summary:
        'Writes a loss surface in the formats the explorer exports: CSV (alpha,beta,loss,accuracy,computed),\n' +
        'JSON, Wavefront OBJ (x = α, y = β, z = height), glTF 2.0 (+Y up, viridis vertex colours), a VTK\n' +
        'StructuredGrid for ParaView (cells with a missing corner hidden) and the SVG contour map. Every\n' +
        'file carries the metadata and the skipscape command that recomputes the surface.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'surface', flags.surface);
    const format = oneOf(NAME, 'format', flags.format ?? 'all', [...FORMAT_IDS, 'all'] as const);
    if (flags.out !== undefined && format === 'all') {
      throw new UsageError(`${NAME}: --out names one file; give --format too, or use --out-dir`);
    }
    if (flags.out !== undefined && flags['out-dir'] !== undefined) {
      throw new UsageError(`${NAME}: give --out or --out-dir, not both`);
    }
    const heightScale = positive(NAME, 'height-scale', flags['height-scale'] ?? '1');
    const levels = integer(NAME, 'levels', flags.levels ?? '15', 0, 200);
    const surface = await readSurfaceFile(path);
    const dir = flags['out-dir'] ?? dirname(path);
    const formats: ExportFormat['id'][] = format === 'all' ? [...FORMAT_IDS] : [format];
    for (const id of formats) {
      const out = flags.out ?? join(dir, exportFileName(surface, id));
      if (resolve(out) === resolve(path)) {
        if (format === 'all') {
          io.err(`${NAME}: ${id}: ${out} is the surface itself; left as it is\n`);
          continue;
        }
        throw new UsageError(`${NAME}: ${out} would overwrite the surface itself; give --out`);
      }
      const text = exportSurface(surface, id, {
        log: flags.log ?? false,
        heightScale,
        levels,
        ...(flags.checkpoint !== undefined ? { checkpointPath: flags.checkpoint } : {}),
      });
      await writeFileAtomic(out, text);
      io.err(`${NAME}: ${id} → ${out}\n`);
    }
    return 0;
  },
};
