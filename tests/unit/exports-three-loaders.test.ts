/**
 * The mesh exports through independent readers: three.js's OBJLoader and
 * GLTFLoader parse them as any viewer built on three would, and what they
 * build must be the surface: the right triangles, the right extent, the
 * metadata where glTF keeps it.
 */
import { Box3, BufferGeometry, Mesh, type Object3D } from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { OBJLoader } from 'three/addons/loaders/OBJLoader.js';
import { describe, expect, it } from 'vitest';
import { surfaceToGltf, surfaceToObj } from '../../src/compute/landscape/exports';
import { analyticSurface } from './exports-fixtures';

// GLTFLoader reads the embedded data: URI with FileLoader (fetch), which reports progress with
// the browser's ProgressEvent; Node has fetch but no ProgressEvent.
if (!('ProgressEvent' in globalThis)) {
  Object.assign(globalThis, {
    ProgressEvent: class ProgressEvent extends Event {
      readonly lengthComputable: boolean;
      readonly loaded: number;
      readonly total: number;
      constructor(
        type: string,
        init: { lengthComputable?: boolean; loaded?: number; total?: number } = {},
      ) {
        super(type);
        this.lengthComputable = init.lengthComputable ?? false;
        this.loaded = init.loaded ?? 0;
        this.total = init.total ?? 0;
      }
    },
  });
}

const surface = analyticSurface({ nx: 9, ny: 7, diverged: [[2, 1]], missing: [[8, 6]] });
// 8 × 6 cells, less the 4 around the diverged point and the 1 at the missing corner.
const TRIANGLES = 2 * (8 * 6 - 4 - 1);
const finite = surface.loss.filter((v): v is number => v !== null);

function meshes(root: Object3D): Mesh[] {
  const out: Mesh[] = [];
  root.traverse((o) => {
    if (o instanceof Mesh) out.push(o);
  });
  return out;
}

describe('mesh exports through three.js loaders', () => {
  it('OBJLoader reads the triangles and the extent (α, β, loss)', () => {
    const group = new OBJLoader().parse(surfaceToObj(surface));
    const [mesh] = meshes(group);
    const geometry = mesh?.geometry as BufferGeometry;
    // OBJLoader expands indexed faces into separate vertices: three per triangle.
    expect(geometry.getAttribute('position').count).toBe(3 * TRIANGLES);
    const box = new Box3().setFromObject(group);
    expect(box.min.x).toBeCloseTo(-1, 6);
    expect(box.max.x).toBeCloseTo(1, 6);
    expect(box.min.y).toBeCloseTo(-1, 6);
    expect(box.max.y).toBeCloseTo(1, 6);
    expect(box.min.z).toBeCloseTo(Math.min(...finite), 6);
    expect(box.max.z).toBeCloseTo(Math.max(...finite), 6);
  });

  it('GLTFLoader reads the mesh (+Y up), vertex colours, and the metadata in asset.extras', async () => {
    const gltf = await new GLTFLoader().parseAsync(surfaceToGltf(surface), '');
    const [mesh] = meshes(gltf.scene);
    const geometry = mesh?.geometry as BufferGeometry;
    expect(geometry.getIndex()?.count).toBe(3 * TRIANGLES);
    expect(geometry.getAttribute('color').count).toBe(finite.length);
    const box = new Box3().setFromObject(gltf.scene);
    expect(box.min.y).toBeCloseTo(Math.min(...finite), 5);
    expect(box.max.y).toBeCloseTo(Math.max(...finite), 5);
    expect(box.min.z).toBeCloseTo(-1, 6);
    const extras = gltf.parser.json.asset.extras as Record<string, unknown>;
    expect(extras['command']).toMatch(/^skipscape landscape --checkpoint /);
    expect(extras['meta']).toEqual(surface.meta);
  });
});
