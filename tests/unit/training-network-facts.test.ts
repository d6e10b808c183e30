import { describe, expect, test } from 'vitest';
import { createModel, parseModelName } from '../../src/compute/models';
import {
  formatCount,
  formatShape,
  networkFacts,
  parseInputShape,
} from '../../src/components/training/network-facts';

/**
 * The numbers the article "Skip connections in action" prints come from
 * networkFacts at build time. These tests pin them to the lecture (seed 001)
 * and check the article's explanation of the gap between the printed total
 * and the distinct count against the model's own parameter list.
 */
describe('networkFacts for BMEnet-32 on 3×32×32', () => {
  const facts = networkFacts({ model: 'bmenet32', input: '3x32x32' });

  test('the table has the lecture’s 103 rows and printed total', () => {
    expect(facts.rows).toHaveLength(103);
    expect(facts.printed).toBe(5_578_498);
    expect(facts.rows[0]).toEqual({
      name: 'Conv2d-1',
      outputShape: [-1, 64, 32, 32],
      params: 1792,
    });
    expect(facts.rows[2]).toEqual({
      name: 'Conv2d-3',
      outputShape: [-1, 64, 16, 16],
      params: 36_928,
    });
    expect(facts.rows.at(-1)).toEqual({
      name: 'Linear-103',
      outputShape: [-1, 10],
      params: 10_010,
    });
    for (const row of facts.rows.filter((r) => r.name.startsWith('SkipBlock'))) {
      expect(row.params, row.name).toBe(0);
    }
  });

  test('the article’s conv formula c_in·c_out·k² + c_out gives Conv2d-1 and Conv2d-3', () => {
    const conv = (cIn: number, cOut: number, k: number) => cIn * cOut * k * k + cOut;
    expect(facts.rows.find((r) => r.name === 'Conv2d-1')?.params).toBe(conv(3, 64, 3));
    expect(facts.rows.find((r) => r.name === 'Conv2d-3')?.params).toBe(conv(64, 64, 3));
    expect(facts.rows.find((r) => r.name === 'Conv2d-27')?.params).toBe(conv(64, 64, 1));
    expect(facts.rows.find((r) => r.name === 'Conv2d-79')?.params).toBe(conv(128, 128, 1));
  });

  test('printed − distinct is exactly the arrays run twice plus the downsamplers run twice', () => {
    const model = createModel(parseModelName('bmenet32'));
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const sumWhere = (test: (name: string) => boolean) =>
      model.params.filter((p) => test(p.name)).reduce((s, p) => s + size(p.shape), 0);
    const arrays = sumWhere((n) => n.startsWith('skip64_arr.') || n.startsWith('skip128_arr.'));
    const downsamplers = sumWhere((n) => n.includes('.downsampler.'));
    expect(facts.repeated).toBe(arrays + downsamplers);
    // The article's arithmetic: 4·74,112 + 4·295,680 + 4,160 + 16,512.
    expect(4 * 74_112 + 4 * 295_680 + 4_160 + 16_512).toBe(facts.repeated);
    expect(facts.distinct).toBe(facts.printed - facts.repeated);
    expect(facts.distinct).toBe(4_078_658);
  });

  test('on Fashion-MNIST’s 1×28×28 the fully connected layers keep their size', () => {
    const fashion = networkFacts({ model: 'bmenet32', input: '1x28x28' });
    expect(fashion.rows.find((r) => r.name === 'Linear-102')?.params).toBe(2048 * 1000 + 1000);
    // Only the first convolution changes: 3 → 1 input channel.
    expect(facts.distinct - fashion.distinct).toBe(2 * 64 * 9);
  });
});

describe('formatting and parsing', () => {
  test('counts and shapes print as torchsummary prints them', () => {
    expect(formatCount(5_578_498)).toBe('5,578,498');
    expect(formatShape([-1, 64, 16, 16])).toBe('[-1, 64, 16, 16]');
  });

  test('input shapes parse as CxHxW and reject anything else', () => {
    expect(parseInputShape('3x32x32')).toEqual([3, 32, 32]);
    expect(() => parseInputShape('32x32')).toThrow(/CxHxW/);
    expect(() => parseInputShape('3x0x32')).toThrow(/CxHxW/);
  });
});
