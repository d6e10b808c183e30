/**
 * `skipscape export` writes the same files as the explorer's export buttons
 * (the same serialisers), named after the surface, and refuses what would
 * lose data.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { exportCommand } from '../../src/cli/commands/export';
import { importCommand } from '../../src/cli/commands/import';
import type { CommandIo } from '../../src/cli/commands/types';
import { exportSurface, parseSurface, surfaceToJson } from '../../src/compute/landscape/exports';
import { parseHdf5Surface } from '../../src/compute/landscape/hdf5';
import { surfaceToStl } from '../../src/compute/landscape/stl';
import { analyticSurface } from './exports-fixtures';

function io(): CommandIo & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    out: () => undefined,
    err: (text) => errors.push(text),
    progressStream: process.stderr,
  };
}

async function surfaceFile(name = 'run.json') {
  const dir = await mkdtemp(join(tmpdir(), 'skipscape-export-'));
  const path = join(dir, name);
  const surface = analyticSurface();
  await writeFile(path, surfaceToJson(surface));
  return { dir, path, surface };
}

describe('skipscape export', () => {
  it('writes every format next to the surface, each the explorer’s bytes', async () => {
    const { dir, path, surface } = await surfaceFile();
    const out = io();
    expect(
      await exportCommand.run(['--surface', path, '--checkpoint', 'ck.safetensors'], out),
    ).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(
      ['csv', 'gltf', 'h5', 'json', 'obj', 'svg', 'vts']
        .map((ext) => `resnet20-skip-filter-9x7.${ext}`)
        .concat('run.json')
        .sort(),
    );
    const csv = await readFile(join(dir, 'resnet20-skip-filter-9x7.csv'), 'utf8');
    expect(csv).toBe(exportSurface(surface, 'csv', { checkpointPath: 'ck.safetensors' }));
    expect(csv).toContain('# command: skipscape landscape --checkpoint ck.safetensors ');
    expect(
      parseSurface(await readFile(join(dir, 'resnet20-skip-filter-9x7.json'), 'utf8')),
    ).toEqual(surface);
    // Seven files, and one line saying why there is no STL (the surface has a point not computed).
    expect(out.errors).toHaveLength(8);
    expect(out.errors.join('')).toContain(
      'stl: left out (a print needs a fully computed 2-D surface)',
    );
    expect(
      await parseHdf5Surface(
        new Uint8Array(await readFile(join(dir, 'resnet20-skip-filter-9x7.h5'))),
        'h5',
      ),
    ).toMatchObject({ xs: surface.xs, ys: surface.ys, loss: surface.loss, mask: surface.mask });
  });

  it('writes an STL of a complete surface, with --height-scale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skipscape-export-'));
    const path = join(dir, 'full.json');
    const surface = analyticSurface({ missing: [] });
    await writeFile(path, surfaceToJson(surface));
    const target = join(dir, 'print.stl');
    const args = ['--surface', path, '--format', 'stl', '--out', target, '--height-scale', '0.5'];
    expect(await exportCommand.run(args, io())).toBe(0);
    expect(new Uint8Array(await readFile(target))).toEqual(
      surfaceToStl(surface, { heightScale: 0.5 }),
    );
  });

  it('one format to a named file, with log heights and a height scale', async () => {
    const { dir, path, surface } = await surfaceFile();
    const target = join(dir, 'mesh.obj');
    const args = [
      '--surface',
      path,
      '--format',
      'obj',
      '--out',
      target,
      '--log',
      '--height-scale',
      '2',
    ];
    await exportCommand.run(args, io());
    expect(await readFile(target, 'utf8')).toBe(
      exportSurface(surface, 'obj', { log: true, heightScale: 2, levels: 15 }),
    );
  });

  it('never overwrites the surface it reads, and says what is wrong with the flags', async () => {
    const { path } = await surfaceFile('resnet20-skip-filter-9x7.json');
    const out = io();
    await exportCommand.run(['--surface', path], out);
    expect(out.errors.join('')).toContain('is the surface itself; left as it is');
    await expect(exportCommand.run(['--surface', path, '--format', 'json'], io())).rejects.toThrow(
      /would overwrite the surface itself/,
    );
    await expect(exportCommand.run(['--surface', path, '--format', 'png'], io())).rejects.toThrow(
      UsageError,
    );
    await expect(exportCommand.run(['--surface', path, '--out', 'x.csv'], io())).rejects.toThrow(
      /--out names one file/,
    );
    await expect(exportCommand.run(['--format', 'csv'], io())).rejects.toThrow(
      /--surface is required/,
    );
  });
});

describe('skipscape import', () => {
  it('reads back what export --format h5 wrote, and refuses to replace --out without --force', async () => {
    const { dir, path, surface } = await surfaceFile();
    const h5 = join(dir, 'run.h5');
    await exportCommand.run(['--surface', path, '--format', 'h5', '--out', h5], io());
    const back = join(dir, 'back.json');
    const out = io();
    expect(await importCommand.run([h5, '--out', back], out)).toBe(0);
    expect(out.errors.join('')).toMatch(/9×7 train surface \(62\/63 points computed\)/);
    const read = parseSurface(await readFile(back, 'utf8'));
    expect(read).toMatchObject({
      xs: surface.xs,
      ys: surface.ys,
      loss: surface.loss,
      meta: surface.meta,
    });
    await expect(importCommand.run([h5, '--out', back], io())).rejects.toThrow(
      /back\.json exists; replace it with --force/,
    );
    expect(await importCommand.run([h5, '--out', back, '--force'], io())).toBe(0);
    expect(await importCommand.run(['--out', back, '--force', h5], io())).toBe(0);
    await expect(importCommand.run(['--out', back], io())).rejects.toThrow(
      /name the HDF5 file first/,
    );
    await expect(importCommand.run([h5, '--out', h5], io())).rejects.toThrow(
      /is the HDF5 file itself/,
    );
  });
});
