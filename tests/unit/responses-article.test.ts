import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

/**
 * The numbers "It is not vanishing gradients" quotes about training, checked
 * against the shipped per-epoch statistics (public/artifacts/responses/,
 * `scripts/make-artifacts.sh responses`) and training histories they come
 * from: regenerate either and this fails until the prose says what the files
 * say.
 */
interface Summary {
  outputStdFirstOverLast: number;
  gradientNormFirstOverLast: number;
  meanResponseStd: number;
}
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const article = read('src/content/articles/not-vanishing-gradients.mdx').replace(/\s+/g, ' ');
const epochs = Array.from({ length: 17 }, (_, e) => e);
const summaries = (run: string): Summary[] =>
  epochs.map(
    (e) =>
      (
        JSON.parse(
          read(`public/artifacts/responses/${run}/epoch-${String(e).padStart(3, '0')}.json`),
        ) as { summary: Summary }
      ).summary,
  );
const trainLoss = (run: string): number[] =>
  (
    JSON.parse(read(`public/artifacts/runs/${run}/history.json`)) as {
      epochs: { trainLoss: number }[];
    }
  ).epochs.map((e) => e.trainLoss);

const skip = summaries('resnet56-skip');
const plain = summaries('resnet56-noskip');
const ratio = (s: Summary) => s.gradientNormFirstOverLast;

describe('not-vanishing-gradients: the per-epoch numbers in the text', () => {
  test('the first-to-last gradient ratio: about 3,500 and 36 at initialisation, then a few', () => {
    expect(Math.round(ratio(plain[0]!) / 100) * 100).toBe(3500);
    expect(Math.round(ratio(skip[0]!))).toBe(36);
    expect(article).toContain('from about 3,500 to 11.5');
    expect(ratio(plain[1]!).toFixed(1)).toBe('11.5');
    expect(article).toContain('drops from 36 to 0.1');
    expect(ratio(skip[1]!).toFixed(1)).toBe('0.1');
    const later = (s: Summary[]) => s.slice(2).map(ratio);
    expect(Math.min(...later(plain)).toFixed(1)).toBe('4.8');
    expect(Math.max(...later(plain)).toFixed(1)).toBe('13.7');
    expect(article).toContain('between 4.8 and 13.7');
    expect(Math.min(...later(skip)).toFixed(1)).toBe('0.6');
    expect(Math.max(...later(skip)).toFixed(1)).toBe('3.6');
    expect(article).toContain('between 0.6 and 3.6');
  });

  test('the mean response std: 1.29 against 1.00 after one epoch, and never crossing', () => {
    expect(plain[1]!.meanResponseStd.toFixed(2)).toBe('1.29');
    expect(skip[1]!.meanResponseStd.toFixed(2)).toBe('1.00');
    expect(article).toContain("mean response standard deviation is 1.29, the residual one's 1.00");
    for (const e of epochs.slice(2)) {
      // "shrink epoch after epoch" (residual), "stay above 1" (plain), never crossing.
      expect(skip[e]!.meanResponseStd).toBeLessThan(skip[e - 1]!.meanResponseStd);
      expect(plain[e]!.meanResponseStd).toBeGreaterThan(1);
      expect(plain[e]!.meanResponseStd).toBeGreaterThan(skip[e]!.meanResponseStd);
    }
    expect(skip[16]!.meanResponseStd.toFixed(2)).toBe('0.85');
    expect(plain[16]!.meanResponseStd.toFixed(2)).toBe('1.11');
  });

  test('the residual network’s training loss falls below the plain one’s in the fourth epoch', () => {
    const s = trainLoss('resnet56-skip');
    const p = trainLoss('resnet56-noskip');
    for (let e = 0; e < s.length; e++) {
      if (e < 3) expect(s[e]!, `epoch ${e + 1}`).toBeGreaterThan(p[e]!);
      else expect(s[e]!, `epoch ${e + 1}`).toBeLessThan(p[e]!);
    }
    expect(article).toContain(`fourth (${s[3]!.toFixed(2)} against ${p[3]!.toFixed(2)})`);
  });
});
