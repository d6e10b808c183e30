/**
 * The glTF export against the Khronos glTF validator, the reference
 * implementation of the specification's rules: no error, warning or info,
 * and the triangle count it reads matches the finite cells.
 */
import { validateBytes } from 'gltf-validator';
import { describe, expect, it } from 'vitest';
import { surfaceToGltf } from '../../src/compute/landscape/exports';
import { analyticSurface } from './exports-fixtures';

async function validate(text: string) {
  const report = await validateBytes(new TextEncoder().encode(text), { format: 'gltf' });
  return {
    report,
    problems: report.issues.messages.map((m) => `${m.code} ${m.pointer ?? ''}: ${m.message}`),
  };
}

describe('glTF export, Khronos validator', () => {
  it('a surface with gaps is a valid glTF 2.0 asset', async () => {
    const s = analyticSurface({ nx: 15, ny: 11, diverged: [[3, 4]], missing: [[14, 10]] });
    const { report, problems } = await validate(surfaceToGltf(s, { log: true, heightScale: 0.5 }));
    expect(problems).toEqual([]);
    // 14 × 10 cells, less the 4 around the diverged point and the 1 at the missing corner.
    expect(report.info?.totalTriangleCount).toBe(2 * (14 * 10 - 4 - 1));
  });

  it('stays valid with 32-bit indices', async () => {
    const s = analyticSurface({ nx: 300, ny: 220, diverged: [], missing: [] });
    const { problems } = await validate(surfaceToGltf(s));
    expect(problems).toEqual([]);
  });
});
