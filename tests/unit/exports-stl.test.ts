/**
 * The STL export read back with a reader written from the format (80-byte
 * header, uint32 count, 50 bytes a triangle): the triangle count, a closed
 * manifold (every edge shared by exactly two triangles, walked in opposite
 * directions), outward normals (positive volume, each stored normal along its
 * winding's), and the bounding box the documented scale gives.
 */
import { describe, expect, it } from 'vitest';
import { exportSurfaceBinary } from '../../src/compute/landscape/exports';
import {
  STL_BASE_MM,
  STL_FOOTPRINT_MM,
  STL_RELIEF_RATIO,
  stlTriangleCount,
  surfaceToStl,
} from '../../src/compute/landscape/stl';
import { analyticSurface } from './exports-fixtures';

type Vec = [number, number, number];

interface Stl {
  header: string;
  triangles: { normal: Vec; vertices: [Vec, Vec, Vec] }[];
}

function parseStl(bytes: Uint8Array): Stl {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(80, true);
  expect(bytes.byteLength).toBe(84 + 50 * count);
  const f = (o: number) => view.getFloat32(o, true);
  const vec = (o: number): Vec => [f(o), f(o + 4), f(o + 8)];
  const triangles = Array.from({ length: count }, (_, t) => {
    const o = 84 + 50 * t;
    expect(view.getUint16(o + 48, true)).toBe(0);
    return {
      normal: vec(o),
      vertices: [vec(o + 12), vec(o + 24), vec(o + 36)] as [Vec, Vec, Vec],
    };
  });
  return { header: new TextDecoder().decode(bytes.subarray(0, 80)), triangles };
}

const sub = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec, b: Vec): Vec => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** Checks of a closed, consistently wound solid; returns its volume and bounding box. */
function checkSolid(stl: Stl): { volume: number; min: Vec; max: Vec } {
  const key = (v: Vec) => v.join(',');
  const directed = new Map<string, number>();
  let volume = 0;
  const min: Vec = [Infinity, Infinity, Infinity];
  const max: Vec = [-Infinity, -Infinity, -Infinity];
  for (const { normal, vertices } of stl.triangles) {
    const [a, b, c] = vertices;
    const n = cross(sub(b, a), sub(c, a));
    const area2 = Math.hypot(...n);
    expect(area2).toBeGreaterThan(0); // no degenerate triangle
    // The stored normal is the unit normal of the winding.
    expect(dot(normal, n) / area2).toBeCloseTo(1, 5);
    // Signed volume of the tetrahedron (origin, a, b, c): the sum is the enclosed volume.
    volume += dot(a, cross(b, c)) / 6;
    for (const [p, q] of [
      [a, b],
      [b, c],
      [c, a],
    ] as const) {
      const e = `${key(p)}>${key(q)}`;
      directed.set(e, (directed.get(e) ?? 0) + 1);
    }
    for (const v of vertices) {
      for (let d = 0; d < 3; d++) {
        min[d] = Math.min(min[d]!, v[d]!);
        max[d] = Math.max(max[d]!, v[d]!);
      }
    }
  }
  // Manifold and consistently oriented: each directed edge once, and its reverse once.
  for (const [edge, count] of directed) {
    expect(count, edge).toBe(1);
    const [p, q] = edge.split('>');
    expect(directed.get(`${q}>${p}`), edge).toBe(1);
  }
  return { volume, min, max };
}

describe('STL export', () => {
  it('is a closed, outward-facing solid on a flat base, at the documented scale', () => {
    // 9 × 7 on [-1, 1]²; a diverged point (stands at the top); all computed.
    const surface = analyticSurface({ missing: [] });
    const stl = parseStl(surfaceToStl(surface));
    expect(stl.triangles).toHaveLength(stlTriangleCount(9, 7));
    expect(stl.triangles).toHaveLength(4 * 8 * 6 + 4 * 8 + 4 * 6);
    expect(stl.header.startsWith('solid')).toBe(false);
    const { volume, min, max } = checkSolid(stl);
    expect(volume).toBeGreaterThan(0); // outward normals enclose a positive volume
    expect(min).toEqual([0, 0, 0]);
    expect(max[0]).toBeCloseTo(STL_FOOTPRINT_MM, 4);
    expect(max[1]).toBeCloseTo(STL_FOOTPRINT_MM, 4);
    expect(max[2]).toBeCloseTo(STL_BASE_MM + STL_RELIEF_RATIO * STL_FOOTPRINT_MM, 4);
    // Lowest point of the surface (α = β = 0 of 0.2 + α² + 2β²) sits on 5 mm of base.
    const tops = stl.triangles.flatMap((t) => t.vertices).filter((v) => v[2] > 0);
    expect(Math.min(...tops.map((v) => v[2]))).toBeCloseTo(STL_BASE_MM, 4);
    // The base: every vertex at z = 0 lies on the footprint, and the base's area is the footprint's.
    const baseArea = stl.triangles
      .filter((t) => t.vertices.every((v) => v[2] === 0))
      .reduce(
        (s, t) =>
          s +
          Math.hypot(
            ...cross(sub(t.vertices[1], t.vertices[0]), sub(t.vertices[2], t.vertices[0])),
          ) /
            2,
        0,
      );
    expect(baseArea).toBeCloseTo(STL_FOOTPRINT_MM * STL_FOOTPRINT_MM, 2);
  });

  it('keeps the proportions of a non-square plane, and scales the relief with heightScale and log', async () => {
    const surface = analyticSurface({ nx: 5, ny: 4, missing: [], diverged: [] });
    surface.ys = [0, 0.5, 1, 1.5]; // β spans 1.5, α spans 2
    const stl = parseStl(
      await exportSurfaceBinary(surface, 'stl', { heightScale: 0.5, log: true }),
    );
    expect(stl.triangles).toHaveLength(4 * 4 * 3 + 4 * 4 + 4 * 3);
    const { volume, max } = checkSolid(stl);
    expect(volume).toBeGreaterThan(0);
    expect(max[0]).toBeCloseTo(100, 4);
    expect(max[1]).toBeCloseTo(75, 4);
    expect(max[2]).toBeCloseTo(STL_BASE_MM + 0.5 * STL_RELIEF_RATIO * STL_FOOTPRINT_MM, 4);
    expect(stl.header).toMatch(/log10 loss/);
  });

  it('prints a flat surface as a slab', () => {
    const flat = analyticSurface({ nx: 3, ny: 3, f: () => 1, missing: [], diverged: [] });
    const { volume, max } = checkSolid(parseStl(surfaceToStl(flat)));
    expect(max[2]).toBe(STL_BASE_MM);
    expect(volume).toBeCloseTo(100 * 100 * STL_BASE_MM, 0);
  });

  it('refuses a 1-D curve and a surface not fully computed', () => {
    expect(() => surfaceToStl(analyticSurface({ ny: 1, missing: [], diverged: [] }))).toThrow(
      /a 1-D curve has no surface to print/,
    );
    expect(() => surfaceToStl(analyticSurface())).toThrow(/not fully computed/);
  });
});
