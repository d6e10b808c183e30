/**
 * Datasets for the command line: the shipped Fashion-MNIST subset (found
 * relative to the package, not the working directory) or CIFAR-10 from a
 * directory the user brings.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { loadCifar10, loadFashionMnist } from '../compute/data/dataset';
import type { Dataset, Split } from '../compute/data/dataset';
import { UsageError } from './args';
import { PUBLIC_DIR } from './paths';

export interface DatasetChoice {
  /** 'fashion-mnist' or 'cifar10'. */
  name: string;
  /** For cifar10: the directory of the .bin files. */
  dir: string | null;
  /** [channels, height, width], for the model spec. */
  inputShape: [number, number, number];
  classes: number;
}

/** Parse --dataset: 'fashion-mnist' or 'cifar10:<dir>'. */
export function parseDataset(command: string, value: string): DatasetChoice {
  if (value === 'fashion-mnist')
    return { name: 'fashion-mnist', dir: null, inputShape: [1, 28, 28], classes: 10 };
  const m = /^cifar10:(.+)$/.exec(value);
  if (m) return { name: 'cifar10', dir: resolve(m[1]!), inputShape: [3, 32, 32], classes: 10 };
  throw new UsageError(
    `${command}: --dataset must be fashion-mnist or cifar10:<dir>; got '${value}'`,
  );
}

/** Load one split; `limit` keeps the first images. */
export async function loadDataset(
  choice: DatasetChoice,
  split: Split,
  limit?: number,
): Promise<Dataset> {
  const options = limit === undefined ? {} : { limit };
  if (choice.name === 'fashion-mnist') {
    const readBytes = async (p: string) => new Uint8Array(await readFile(join(PUBLIC_DIR, p)));
    return loadFashionMnist({ readBytes, split, ...options });
  }
  const readBytes = async (p: string) =>
    new Uint8Array(await readFile(isAbsolute(p) ? p : resolve(p)));
  return loadCifar10({ readBytes, dir: choice.dir!, split, ...options });
}
