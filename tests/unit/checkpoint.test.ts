import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  checkpointFileName,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../src/compute/train/checkpoint';
import type { Checkpoint, CheckpointLayout } from '../../src/compute/train/checkpoint';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  toFloat32,
} from '../../src/compute/train/safetensors';
import type { ModelSpec } from '../../src/compute/models/types';

const SPEC: ModelSpec = {
  kind: 'resnet',
  depth: 20,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
};

const LAYOUT: CheckpointLayout = {
  params: [
    { name: 'conv.weight', shape: [3, 3, 1, 2] },
    { name: 'fc.bias', shape: [3] },
  ],
  state: [
    { name: 'bn.running_mean', shape: [2] },
    { name: 'bn.running_var', shape: [2] },
  ],
};

function sampleCheckpoint(): Checkpoint {
  const arr = (shape: number[], f: (i: number) => number) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
  });
  return {
    meta: {
      spec: SPEC,
      dataset: 'fashion-mnist',
      epoch: 3,
      step: 279,
      seed: 42,
      config: {
        epochs: 10,
        lr: 0.1,
        batchSize: 128,
        schedule: { kind: 'cosine' },
        sgd: { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
        augment: true,
        seed: 42,
        trainImages: 12000,
        testImages: 2000,
      },
      history: [],
      backend: 'wasm',
      written: '2026-01-01T00:00:00.000Z',
    },
    training: {
      params: {
        'conv.weight': arr([3, 3, 1, 2], (i) => i / 7 - 1),
        'fc.bias': arr([3], (i) => -i),
      },
      state: { 'bn.running_mean': arr([2], (i) => i + 0.5), 'bn.running_var': arr([2], () => 2) },
      momentum: {
        'conv.weight': arr([3, 3, 1, 2], (i) => i * 1e-3),
        'fc.bias': arr([3], (i) => i * 1e-2),
      },
    },
  };
}

/** A safetensors file with a header we write by hand. */
function rawFile(header: unknown, dataBytes: number, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === 'string' ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('writes the layout the specification gives, header padded with spaces to 8 bytes', () => {
    const bytes = encodeSafetensors(
      {
        b: { shape: [2], data: new Float32Array([1, 2]) },
        a: { shape: [1, 1], data: new Float32Array([-3]) },
      },
      { note: 'hi' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd().length).toBeLessThan(n + 1);
    expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
    expect(JSON.parse(header)).toEqual({
      __metadata__: { note: 'hi' },
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    });
    const data = new DataView(bytes.buffer, 8 + n);
    expect([data.getFloat32(0, true), data.getFloat32(4, true), data.getFloat32(8, true)]).toEqual([
      -3, 1, 2,
    ]);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it('reads F64, F16 and BF16 tensors as float32', () => {
    const data = new Uint8Array(8 + 2 + 2);
    const view = new DataView(data.buffer);
    view.setFloat64(0, 0.25, true);
    view.setUint16(8, 0x3c00, true); // 1.0 in binary16
    view.setUint16(10, 0xc040, true); // -3.0 in bfloat16
    const header = {
      a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      h: { dtype: 'F16', shape: [1], data_offsets: [8, 10] },
      b: { dtype: 'BF16', shape: [], data_offsets: [10, 12] },
    };
    const file = rawFile(header, 12);
    file.set(data, file.length - 12);
    const read = decodeSafetensors(file, 'mixed.safetensors');
    expect(toFloat32(read.tensors.get('a')!, 'a', 'mixed')[0]).toBe(0.25);
    expect(toFloat32(read.tensors.get('h')!, 'h', 'mixed')[0]).toBe(1);
    expect(toFloat32(read.tensors.get('b')!, 'b', 'mixed')[0]).toBe(-3);
  });

  const F = 'bad.safetensors';
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', () => new Uint8Array(5), /too short/],
    ['header length past the end', () => rawFile({}, 0, 1000), /runs past the end/],
    ['header length over the limit', () => rawFile({}, 0, 2e8), /exceeds/],
    ['header not JSON', () => rawFile('{"a": ', 0), /not valid UTF-8 JSON/],
    ['header not an object', () => rawFile('[1, 2]', 0), /not a JSON object/],
    [
      'metadata not strings',
      () => rawFile({ __metadata__: { epoch: 3 } }, 0),
      /__metadata__.epoch is not a string/,
    ],
    [
      'unknown dtype',
      () => rawFile({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, 4),
      /unknown dtype "Q7"/,
    ],
    [
      'bad shape',
      () => rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
      /shape \[-1\]/,
    ],
    [
      'bad offsets',
      () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4),
      /not \[begin, end\]/,
    ],
    [
      'shape disagrees with the byte range',
      () => rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4),
      /needs 8 bytes, data_offsets give 4/,
    ],
    [
      'truncated data',
      () => rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8),
      /run past the 8-byte data buffer \(file truncated\?\)/,
    ],
    [
      'overlapping tensors',
      () =>
        rawFile(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          8,
        ),
      /overlap/,
    ],
    [
      'a hole',
      () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      /hole of 4 bytes/,
    ],
    [
      'trailing bytes',
      () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12),
      /12 bytes but the tensors cover 4/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects a file with ${what}, naming the file`, () => {
      let error: unknown = null;
      try {
        decodeSafetensors(make(), F);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as Error).message.startsWith(`${F}: `)).toBe(true);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe('checkpoints', () => {
  it('round-trips parameters, running statistics, momentum and metadata exactly', () => {
    const c = sampleCheckpoint();
    const bytes = encodeCheckpoint(c);
    const file = decodeSafetensors(bytes, 'c');
    expect([...file.tensors.keys()].sort()).toEqual([
      'bn.running_mean',
      'bn.running_var',
      'conv.weight',
      'fc.bias',
      'optim.momentum.conv.weight',
      'optim.momentum.fc.bias',
    ]);
    expect(file.metadata['format']).toBe(CHECKPOINT_FORMAT);
    expect(JSON.parse(file.metadata['spec']!)).toEqual(SPEC);
    const back = decodeCheckpoint(bytes, { source: 'c', layout: () => LAYOUT });
    expect(back).toEqual(c);
  });

  it('names epoch files so they sort', () => {
    expect(checkpointFileName(3)).toBe('epoch-003.safetensors');
    expect([12, 3, 100].map(checkpointFileName).sort()).toEqual([
      'epoch-003.safetensors',
      'epoch-012.safetensors',
      'epoch-100.safetensors',
    ]);
  });

  const source = 'run/epoch-003.safetensors';
  const reencode = (edit: (c: Checkpoint) => void) => {
    const c = sampleCheckpoint();
    edit(c);
    return encodeCheckpoint(c);
  };
  const withMetadata = (edit: (m: Record<string, string>) => void) => {
    const c = sampleCheckpoint();
    const file = decodeSafetensors(encodeCheckpoint(c), 'x');
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [n, t] of file.tensors) tensors[n] = { shape: t.shape, data: toFloat32(t, n, 'x') };
    const m = { ...file.metadata };
    edit(m);
    return encodeSafetensors(tensors, m);
  };
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['not a Skipscape checkpoint', () => encodeSafetensors({}, {}), /not a Skipscape checkpoint/],
    ['spec not JSON', () => withMetadata((m) => (m['spec'] = '{')), /"spec" is not valid JSON/],
    [
      'spec of no known model',
      () => withMetadata((m) => (m['spec'] = '{"kind":"vgg"}')),
      /not a model spec/,
    ],
    ['epoch not a count', () => withMetadata((m) => (m['epoch'] = 'three')), /"epoch" is "three"/],
    [
      'history not a list',
      () => withMetadata((m) => (m['history'] = '{}')),
      /"history" is not a list/,
    ],
    [
      'a missing parameter',
      () => reencode((c) => delete c.training.params['fc.bias']),
      /missing parameter fc.bias/,
    ],
    [
      'a missing running statistic',
      () => reencode((c) => delete c.training.state['bn.running_var']),
      /missing running statistic bn.running_var/,
    ],
    [
      'a parameter of the wrong shape',
      () =>
        reencode((c) => (c.training.params['fc.bias'] = { shape: [4], data: new Float32Array(4) })),
      /fc.bias has shape \[4\], the model needs \[3\]/,
    ],
    [
      'a tensor the model does not have',
      () =>
        reencode((c) => (c.training.params['extra'] = { shape: [1], data: new Float32Array(1) })),
      /tensor extra is not a parameter or running statistic/,
    ],
    [
      'momentum for a parameter the model does not have',
      () =>
        reencode((c) => (c.training.momentum['ghost'] = { shape: [1], data: new Float32Array(1) })),
      /momentum buffer optim.momentum.ghost belongs to no parameter/,
    ],
    [
      'some momentum buffers missing',
      () => reencode((c) => delete c.training.momentum['fc.bias']),
      /missing momentum buffer optim.momentum.fc.bias/,
    ],
    [
      'a truncated file',
      () => encodeCheckpoint(sampleCheckpoint()).subarray(0, 300),
      /run past|runs past/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}, naming the file`, () => {
      expect(() => decodeCheckpoint(make(), { source, layout: () => LAYOUT })).toThrow(
        new RegExp(`^${source.replace(/\./g, '\\.')}: .*${message.source}`),
      );
    });
  }

  it('accepts a checkpoint without optimiser state (evaluation only)', () => {
    const bytes = reencode((c) => (c.training.momentum = {}));
    expect(decodeCheckpoint(bytes, { source, layout: () => LAYOUT }).training.momentum).toEqual({});
  });

  it('reports a spec the model builder rejects', () => {
    const bytes = encodeCheckpoint(sampleCheckpoint());
    expect(() =>
      decodeCheckpoint(bytes, {
        source,
        layout: () => {
          throw new Error('depth 20 is not allowed');
        },
      }),
    ).toThrow(/does not build a model: depth 20 is not allowed/);
  });
});
