/**
 * Every export reads back: each file is parsed here with a reader written
 * from its format's specification, and the values are compared with the
 * surface they came from, gaps (diverged and uncomputed points) included.
 */
import { describe, expect, it } from 'vitest';
import {
  EXPORT_FORMATS,
  exportFileName,
  exportSurface,
  parseSurface,
  reproduceCommand,
  surfaceToCsv,
  surfaceToGltfDocument,
  surfaceToJson,
  surfaceToObj,
  surfaceToSvg,
  surfaceToVts,
  type GltfDocument,
} from '../../src/compute/landscape/exports';
import type { Surface } from '../../src/compute/landscape/surface';
import { analyticSurface } from './exports-fixtures';

const META_KEYS = [
  'model',
  'skip',
  'checkpointSha256',
  'dataset',
  'split',
  'subset',
  'seed',
  'normalization',
  'grid',
  'backend',
  'command',
];

const COMMAND =
  'skipscape landscape --checkpoint public/artifacts/resnet20-skip.safetensors ' +
  '--grid -1:1:9,-1:1:7 --norm filter --subset 512 --split train --seed 7 --backend wasm ' +
  '--out resnet20-skip-filter-9x7.json';

const REPRODUCE = { checkpointPath: 'public/artifacts/resnet20-skip.safetensors' };

/** Finite cells: those whose four corners have a finite loss. */
function finiteCellCount(s: Surface): number {
  const nx = s.xs.length;
  let n = 0;
  for (let j = 0; j + 1 < s.ys.length; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const k = j * nx + i;
      if ([k, k + 1, k + nx, k + nx + 1].every((q) => s.loss[q] !== null)) n++;
    }
  }
  return n;
}

describe('reproduceCommand', () => {
  it('writes the exact command line, grid and flags from the metadata', () => {
    expect(reproduceCommand(analyticSurface(), REPRODUCE)).toBe(COMMAND);
  });

  it('adds --checkpoint2 for an interpolation, --include-biasbn, drops a browser-only backend, quotes paths', () => {
    const s = analyticSurface({ ny: 1 });
    s.meta = {
      ...s.meta,
      kind: 'interpolation',
      checkpoint2Sha256: 'cd'.repeat(32),
      includeBiasBn: true,
      backend: 'webgl',
    };
    const command = reproduceCommand(s, { checkpointPath: 'my run/a.safetensors' });
    expect(command).toBe(
      "skipscape landscape --checkpoint 'my run/a.safetensors' --checkpoint2 checkpoint-cdcdcdcdcdcd.safetensors " +
        '--grid -1:1:9 --norm filter --include-biasbn --subset 512 --split train --seed 7 ' +
        '--out resnet20-skip-interp-9.json',
    );
  });

  it('reproduces a surface on a trajectory plane with skipscape trajectory', () => {
    const s = analyticSurface();
    s.meta = { ...s.meta, kind: 'pca', normalization: 'none', seed: 0 };
    expect(reproduceCommand(s, { runDir: 'runs/resnet20' })).toBe(
      'skipscape trajectory --run runs/resnet20 --out resnet20-skip-pca-9x7.trajectory.json ' +
        '--grid -1:1:9,-1:1:7 --surface resnet20-skip-pca-9x7.json --subset 512 --split train --backend wasm',
    );
    expect(parseSurface(surfaceToJson(s)).meta.kind).toBe('pca');
  });

  it('names files after model, skips, normalisation and grid', () => {
    expect(exportFileName(analyticSurface({ skip: false }), 'vts')).toBe(
      'resnet20-noskip-filter-9x7.vts',
    );
  });
});

describe('CSV', () => {
  it('reads back: metadata comments, header, one row per point, gaps empty', () => {
    const s = analyticSurface();
    const text = surfaceToCsv(s, REPRODUCE);
    const lines = text.trimEnd().split('\n');
    const comments = lines.filter((l) => l.startsWith('#'));
    const meta = new Map(
      comments.slice(1).map((l) => {
        const [key, ...rest] = l.slice(2).split(': ');
        return [key, rest.join(': ')] as const;
      }),
    );
    for (const key of META_KEYS) expect(meta.has(key), key).toBe(true);
    expect(meta.get('command')).toBe(COMMAND);
    expect(meta.get('checkpointSha256')).toBe(s.meta.checkpointSha256);
    const rows = lines.filter((l) => !l.startsWith('#'));
    expect(rows[0]).toBe('alpha,beta,loss,accuracy,computed');
    expect(rows.length - 1).toBe(s.xs.length * s.ys.length);
    rows.slice(1).forEach((row, k) => {
      const [alpha, beta, loss, accuracy, computed] = row.split(',');
      expect(Number(alpha)).toBe(s.xs[k % s.xs.length]);
      expect(Number(beta)).toBe(s.ys[Math.floor(k / s.xs.length)]);
      expect(loss === '' ? null : Number(loss)).toBe(s.loss[k]);
      expect(accuracy === '' ? null : Number(accuracy)).toBe(s.accuracy[k]);
      expect(Number(computed)).toBe(s.mask[k]);
    });
    // Both kinds of gap are there and told apart by `computed`.
    expect(rows).toContain(`${s.xs[2]},${s.ys[1]},,,1`);
    expect(rows).toContain(`${s.xs[8]},${s.ys[6]},,,0`);
  });
});

describe('JSON', () => {
  it('reads back as the same surface, with the command line', () => {
    const s = analyticSurface();
    const text = surfaceToJson(s, REPRODUCE);
    const parsed = JSON.parse(text) as Surface & { reproduce: { command: string } };
    expect(parsed.reproduce.command).toBe(COMMAND);
    expect(parseSurface(text)).toEqual(s);
  });

  it('parseSurface names what is wrong', () => {
    const s = analyticSurface();
    expect(() => parseSurface('{', 'a.json')).toThrow(/a\.json: not JSON/);
    expect(() => parseSurface({ ...s, loss: s.loss.slice(1) }, 'b.json')).toThrow(
      'b.json: loss has 62 values; xs × ys = 9 × 7 = 63',
    );
    expect(() => parseSurface({ ...s, xs: [...s.xs].reverse() })).toThrow(
      /xs is not strictly increasing/,
    );
    expect(() => parseSurface({ ...s, mask: s.mask.map(() => 2) })).toThrow(/mask\.0/);
    expect(() => parseSurface({ ...s, meta: { ...s.meta, split: 'val' } })).toThrow(/meta\.split/);
  });
});

/** OBJ reader: vertices and triangles, comments as key/value. */
function readObj(text: string): { v: number[][]; f: number[][]; comments: string[] } {
  const v: number[][] = [];
  const f: number[][] = [];
  const comments: string[] = [];
  for (const line of text.split('\n')) {
    const [tag, ...rest] = line.trim().split(/\s+/);
    if (tag === 'v') v.push(rest.map(Number));
    else if (tag === 'f') f.push(rest.map((x) => Number(x.split('/')[0])));
    else if (tag === '#') comments.push(rest.join(' '));
  }
  return { v, f, comments };
}

describe('OBJ', () => {
  it('reads back: finite points as vertices, two counter-clockwise triangles per finite cell', () => {
    const s = analyticSurface();
    const { v, f, comments } = readObj(surfaceToObj(s, REPRODUCE));
    const finite = s.loss.filter((x) => x !== null).length;
    expect(v).toHaveLength(finite);
    expect(f).toHaveLength(2 * finiteCellCount(s));
    // Vertex positions are (α, β, loss) of the finite points, in order.
    const expected = s.loss.flatMap((loss, k) =>
      loss === null ? [] : [[s.xs[k % 9], s.ys[Math.floor(k / 9)], loss]],
    );
    expect(v).toEqual(expected);
    for (const tri of f) {
      expect(tri.every((q) => q >= 1 && q <= finite)).toBe(true);
      const [a, b, c] = tri.map((q) => v[q - 1] as number[]) as [number[], number[], number[]];
      // z component of (b − a) × (c − a) > 0: counter-clockwise seen from +z.
      const cross =
        ((b[0] as number) - (a[0] as number)) * ((c[1] as number) - (a[1] as number)) -
        ((b[1] as number) - (a[1] as number)) * ((c[0] as number) - (a[0] as number));
      expect(cross).toBeGreaterThan(0);
    }
    expect(comments).toContain(`command: ${COMMAND}`);
    for (const key of META_KEYS)
      expect(
        comments.some((c) => c.startsWith(`${key}:`)),
        key,
      ).toBe(true);
  });

  it('log height: z = heightScale · log10(loss)', () => {
    const s = analyticSurface({ diverged: [], missing: [] });
    const { v, comments } = readObj(surfaceToObj(s, { log: true, heightScale: 2 }));
    v.forEach((vertex, k) =>
      expect(vertex[2]).toBeCloseTo(2 * Math.log10(s.loss[k] as number), 12),
    );
    expect(comments).toContain('vertices: x = alpha, y = beta, z = 2 * log10(loss)');
  });
});

/** Decode the embedded buffer of a glTF document and check its structure against the spec. */
function readGltf(doc: GltfDocument): {
  accessor: (a: number) => Float32Array | Uint16Array | Uint32Array;
} {
  const buffer = doc.buffers[0];
  if (!buffer) throw new Error('no buffer');
  const prefix = 'data:application/octet-stream;base64,';
  expect(buffer.uri.startsWith(prefix)).toBe(true);
  const bytes = Uint8Array.from(Buffer.from(buffer.uri.slice(prefix.length), 'base64'));
  expect(bytes.length).toBe(buffer.byteLength);
  for (const view of doc.bufferViews) {
    expect(view.byteOffset % 4).toBe(0);
    expect(view.byteOffset + view.byteLength).toBeLessThanOrEqual(buffer.byteLength);
  }
  const size = { VEC3: 3, SCALAR: 1 };
  const bytesPer: Record<number, number> = { 5126: 4, 5123: 2, 5125: 4 };
  return {
    accessor(a: number) {
      const acc = doc.accessors[a];
      if (!acc) throw new Error(`no accessor ${a}`);
      const view = doc.bufferViews[acc.bufferView];
      if (!view) throw new Error('no view');
      const width = size[acc.type] * (bytesPer[acc.componentType] as number);
      expect(acc.byteOffset + acc.count * width).toBeLessThanOrEqual(view.byteLength);
      const start = view.byteOffset + acc.byteOffset;
      const slice = bytes.slice(start, start + acc.count * width).buffer;
      if (acc.componentType === 5126) return new Float32Array(slice);
      if (acc.componentType === 5123) return new Uint16Array(slice);
      return new Uint32Array(slice);
    },
  };
}

describe('glTF', () => {
  it('reads back: buffer lengths, accessor counts, min/max, positions, normals, colours, indices', () => {
    const s = analyticSurface();
    const doc = surfaceToGltfDocument(s, REPRODUCE);
    // The text form is the same document.
    expect(JSON.parse(exportSurface(s, 'gltf', REPRODUCE))).toEqual(
      JSON.parse(JSON.stringify(doc)),
    );
    expect(doc.asset.version).toBe('2.0');
    const prim = doc.meshes[0]?.primitives[0];
    if (!prim) throw new Error('no primitive');
    const { accessor } = readGltf(doc);
    const position = accessor(prim.attributes.POSITION) as Float32Array;
    const normal = accessor(prim.attributes.NORMAL) as Float32Array;
    const colour = accessor(prim.attributes.COLOR_0) as Float32Array;
    const indices = accessor(prim.indices);
    const finite = s.loss.filter((x) => x !== null).length;
    expect(position.length / 3).toBe(finite);
    expect(normal.length / 3).toBe(finite);
    expect(colour.length / 3).toBe(finite);
    expect(indices.length).toBe(6 * finiteCellCount(s));
    expect(Math.max(...indices)).toBeLessThan(finite);
    // Positions are (α, loss, −β), +Y up; min/max bound them exactly.
    let v = 0;
    s.loss.forEach((loss, k) => {
      if (loss === null) return;
      expect(position[3 * v]).toBe(Math.fround(s.xs[k % 9] as number));
      expect(position[3 * v + 1]).toBe(Math.fround(loss));
      expect(position[3 * v + 2]).toBe(Math.fround(-(s.ys[Math.floor(k / 9)] as number)));
      v++;
    });
    const acc = doc.accessors[prim.attributes.POSITION];
    for (let c = 0; c < 3; c++) {
      const comp = Array.from(position.filter((_, q) => q % 3 === c));
      expect(acc?.min?.[c]).toBe(Math.min(...comp));
      expect(acc?.max?.[c]).toBe(Math.max(...comp));
    }
    for (let q = 0; q < finite; q++) {
      expect(
        Math.hypot(
          normal[3 * q] as number,
          normal[3 * q + 1] as number,
          normal[3 * q + 2] as number,
        ),
      ).toBeCloseTo(1, 6);
      // Every normal of a height field points up (+Y).
      expect(normal[3 * q + 1]).toBeGreaterThan(0);
    }
    expect(colour.every((c) => c >= 0 && c <= 1)).toBe(true);
    const extras = doc.asset.extras;
    expect(extras['command']).toBe(COMMAND);
    expect(extras['meta']).toEqual(s.meta);
    for (const key of META_KEYS) expect(extras[key], key).toBeDefined();
  });

  it('normals of a plane are the plane normal; colours run dark to bright with the loss', () => {
    // h = 0.5 + 0.3α − 0.2β: OBJ-axis normal ∝ (−0.3, 0.2, 1) → glTF (−0.3, 1, −0.2)/‖·‖.
    const s = analyticSurface({ f: (a, b) => 0.5 + 0.3 * a - 0.2 * b, diverged: [], missing: [] });
    const doc = surfaceToGltfDocument(s);
    const { accessor } = readGltf(doc);
    const normal = accessor(1) as Float32Array;
    const norm = Math.hypot(0.3, 0.2, 1);
    for (let q = 0; q < normal.length / 3; q++) {
      expect(normal[3 * q]).toBeCloseTo(-0.3 / norm, 6);
      expect(normal[3 * q + 1]).toBeCloseTo(1 / norm, 6);
      expect(normal[3 * q + 2]).toBeCloseTo(-0.2 / norm, 6);
    }
    const colour = accessor(2) as Float32Array;
    const lossMin = s.loss.indexOf(Math.min(...(s.loss as number[])));
    const lossMax = s.loss.indexOf(Math.max(...(s.loss as number[])));
    const luminance = (q: number): number =>
      (colour[3 * q] as number) + (colour[3 * q + 1] as number) + (colour[3 * q + 2] as number);
    expect(luminance(lossMax)).toBeGreaterThan(luminance(lossMin));
    // Viridis ends, converted to linear light: #440154 at the minimum, #fde725 at the maximum.
    expect(colour[3 * lossMin]).toBeCloseTo(((0x44 / 255 + 0.055) / 1.055) ** 2.4, 5);
    expect(colour[3 * lossMax + 1]).toBeCloseTo(((0xe7 / 255 + 0.055) / 1.055) ** 2.4, 5);
  });

  it('switches to 32-bit indices past 65,535 vertices', () => {
    const s = analyticSurface({ nx: 257, ny: 256, diverged: [], missing: [] });
    const doc = surfaceToGltfDocument(s);
    expect(doc.accessors[3]?.componentType).toBe(5125);
    const { accessor } = readGltf(doc);
    const indices = accessor(3);
    expect(indices.length).toBe(6 * 256 * 255);
    expect(Array.from(indices).reduce((m, q) => Math.max(m, q), 0)).toBe(257 * 256 - 1);
  });
});

/** A minimal VTK XML reader: attributes, inline base64 arrays with UInt64 headers, ascii strings. */
function readVts(text: string): {
  extent: string;
  arrays: Map<string, { type: string; values: number[] }>;
  field: Map<string, string>;
} {
  expect(text).toMatch(/^<\?xml version="1\.0"\?>/);
  expect(text).toMatch(
    /<VTKFile type="StructuredGrid" version="1\.0" byte_order="LittleEndian" header_type="UInt64">/,
  );
  // Every opened element is closed, in order.
  const stack: string[] = [];
  for (const m of text.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else stack.push(m[2] as string);
  }
  expect(stack).toEqual([]);
  const extent = /<StructuredGrid WholeExtent="([^"]+)">/.exec(text)?.[1] ?? '';
  expect(text).toContain(`<Piece Extent="${extent}">`);
  const arrays = new Map<string, { type: string; values: number[] }>();
  for (const m of text.matchAll(
    /<DataArray type="(\w+)" Name="(\w+)"[^>]*format="binary">([^<]*)<\/DataArray>/g,
  )) {
    const bytes = Buffer.from(m[3] as string, 'base64');
    const length = Number(bytes.readBigUInt64LE(0));
    expect(bytes.length).toBe(8 + length);
    const body = Uint8Array.from(bytes.subarray(8)).buffer;
    const values =
      m[1] === 'Float64' ? Array.from(new Float64Array(body)) : Array.from(new Uint8Array(body));
    arrays.set(m[2] as string, { type: m[1] as string, values });
  }
  const field = new Map<string, string>();
  for (const m of text.matchAll(
    /<Array type="String" Name="(\w+)" NumberOfTuples="1" format="ascii">([^<]*)<\/Array>/g,
  )) {
    const codes = (m[2] as string).split(' ').map(Number);
    expect(codes[codes.length - 1]).toBe(0);
    field.set(m[1] as string, new TextDecoder().decode(Uint8Array.from(codes.slice(0, -1))));
  }
  return { extent, arrays, field };
}

describe('VTK StructuredGrid', () => {
  it('reads back: extent, points, loss/accuracy/computed, hidden cells, metadata', () => {
    const s = analyticSurface();
    const { extent, arrays, field } = readVts(surfaceToVts(s, REPRODUCE));
    expect(extent).toBe('0 8 0 6 0 0');
    const n = 9 * 7;
    const loss = arrays.get('loss');
    const acc = arrays.get('accuracy');
    const computed = arrays.get('computed');
    const points = arrays.get('Points');
    const ghost = arrays.get('vtkGhostType');
    expect(loss?.values).toHaveLength(n);
    expect(acc?.values).toHaveLength(n);
    expect(computed?.values).toEqual(s.mask);
    expect(points?.values).toHaveLength(3 * n);
    expect(ghost?.values).toHaveLength(8 * 6);
    s.loss.forEach((v, k) => {
      if (v === null) expect(loss?.values[k]).toBeNaN();
      else expect(loss?.values[k]).toBe(v);
      const a = s.accuracy[k];
      if (a === null || a === undefined) expect(acc?.values[k]).toBeNaN();
      else expect(acc?.values[k]).toBe(a);
      expect(points?.values[3 * k]).toBe(s.xs[k % 9]);
      expect(points?.values[3 * k + 1]).toBe(s.ys[Math.floor(k / 9)]);
      expect(points?.values[3 * k + 2]).toBe(v ?? 0);
    });
    // Cells with a missing corner are hidden (32), the rest shown (0).
    expect(ghost?.values.filter((g) => g === 0)).toHaveLength(finiteCellCount(s));
    expect(ghost?.values.filter((g) => g === 32)).toHaveLength(48 - finiteCellCount(s));
    expect(field.get('command')).toBe(COMMAND);
    expect(field.get('seed')).toBe('7');
    for (const key of META_KEYS) expect(field.has(key), key).toBe(true);
  });

  it('a 1-D curve is a line of nx − 1 cells', () => {
    const s = analyticSurface({ ny: 1, diverged: [[3, 0]], missing: [] });
    const { extent, arrays } = readVts(surfaceToVts(s));
    expect(extent).toBe('0 8 0 0 0 0');
    expect(arrays.get('vtkGhostType')?.values).toEqual([0, 0, 32, 32, 0, 0, 0, 0]);
  });
});

describe('SVG', () => {
  it('is the contour view: one cell per finite point, diverged hatched, isolines, metadata, accessible', () => {
    const s = analyticSurface();
    const svg = surfaceToSvg(s, {
      ...REPRODUCE,
      levels: 6,
      scale: { log: false, lo: 0.2, hi: 3.2 },
    });
    expect(
      svg.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"',
      ),
    ).toBe(true);
    const heat = /<g shape-rendering="crispEdges">(.*?)<\/g>/.exec(svg)?.[1] ?? '';
    expect(heat.match(/<rect /g)).toHaveLength(s.loss.filter((v) => v !== null).length);
    const hatched = /<g fill="url\(#skipscape-contour-nan\)">(.*?)<\/g>/.exec(svg)?.[1] ?? '';
    expect(hatched.match(/<rect /g)).toHaveLength(1);
    expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+L/);
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(/<title id="skipscape-contour-title">resnet20, with skips<\/title>/);
    const metadata = /<metadata>(.*?)<\/metadata>/s.exec(svg)?.[1] ?? '';
    const decoded = JSON.parse(
      metadata
        .replaceAll('&quot;', '"')
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&amp;', '&'),
    ) as { meta: unknown; command: string }[];
    expect(decoded[0]?.command).toBe(COMMAND);
    expect(decoded[0]?.meta).toEqual(s.meta);
  });

  it('escapes text from the surface', () => {
    const s = analyticSurface();
    s.meta.model = 'a<b>&"c"';
    const svg = surfaceToSvg(s);
    expect(svg).not.toContain('a<b>');
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&quot;');
  });
});

describe('EXPORT_FORMATS', () => {
  it('every format serialises a surface with metadata and the command in it', () => {
    const s = analyticSurface();
    for (const format of EXPORT_FORMATS) {
      const text = exportSurface(s, format.id, REPRODUCE);
      expect(text.length, format.id).toBeGreaterThan(100);
      // The command is in every file (SVG and VTK escape or encode it).
      const plain =
        format.id === 'vts'
          ? readVts(text).field.get('command')
          : text.replaceAll('&quot;', '"').replaceAll('\\"', '"');
      expect(plain, format.id).toContain(COMMAND);
    }
  });
});
