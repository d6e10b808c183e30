/**
 * The lesion study of Veit et al. (2016, section 4): change a trained
 * network at test time and measure its test error.
 *
 * - Delete one block. With skips the block's residual branch is dropped and
 *   its shortcut kept, y = ReLU(s(x)) (Veit et al., figure 3); without skips
 *   there is no shortcut, and the block's output becomes its input. A
 *   downsampling block of the plain network cannot hand its input on (stride
 *   2, twice the channels), so it is replaced by the parameter-free shortcut
 *   of He et al.'s option A: every second pixel, channels zero-padded.
 * - Delete k blocks at random, several draws per k: error against k with a
 *   spread (figure 5a).
 * - Reorder: swap random pairs of blocks of one stage (blocks with the same
 *   shapes: the downsampling blocks stay in place), and measure how far the
 *   order moved by Kendall's τ between the new order and the trained one
 *   (figure 5b).
 *
 * In a residual network a deletion removes half of the paths, all of them
 * through that block, and leaves the rest intact; in a plain network there
 * is one path and every deletion cuts it. BN is in inference mode throughout
 * (stored statistics, as at test time).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset';
import { batches } from '../data/batches';
import { yieldToEventLoop } from '../landscape/grid';
import type { Origin } from '../landscape/grid';
import type { PlanePool } from '../landscape/pool';
import type { ForwardOptions, Model, TensorMap } from '../models';
import { createRng, deriveSeed } from '../random';
import { countCorrect } from '../train/engine';
import { subsampleAndPadChannels } from '../tfjs-fixes';
import { residualBlocks } from './blocks';
import type { BlockInfo } from './blocks';
import { chooseBlocks } from './gradient';
import { defaultDeleteCounts, defaultSwapCounts } from './cost';
import { onEveryReplica } from './replicas';

/** One change to the network, evaluated on the whole subset. */
export type Lesion =
  | { kind: 'baseline' }
  | { kind: 'deleteOne'; block: number }
  | { kind: 'deleteK'; k: number; draw: number; blocks: number[] }
  /** order[p]: which trained block runs at position p. */
  | { kind: 'reorder'; swaps: number; draw: number; order: number[]; tau: number };

export interface LesionResult {
  /** Whether the network has skips. */
  skip: boolean;
  /** Test images evaluated per lesion (the first of the split). */
  images: number;
  draws: number;
  seed: number;
  blocks: BlockInfo[];
  /** Error (1 − accuracy) of the intact network; null until evaluated. */
  baselineError: number | null;
  deleteOne: (BlockInfo & { error: number | null })[];
  /** Mean error over the draws that are done, and their standard deviation. */
  deleteK: { k: number; error: number | null; spread: number | null; draws: number }[];
  /** Every draw of deleteK: which blocks went, and the error. */
  deleteKDraws: { k: number; draw: number; blocks: number[]; error: number | null }[];
  /** Every reordering: its swaps, Kendall's τ against the trained order, and the error. */
  reorder: { swaps: number; draw: number; tau: number; order: number[]; error: number | null }[];
}

/**
 * Kendall's τ between an order of positions and 0 … n − 1: (concordant −
 * discordant pairs) / C(n, 2). 1 for the trained order, −1 for its reverse.
 */
export function kendallTau(order: readonly number[]): number {
  const n = order.length;
  if (n < 2) return 1;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) s += Math.sign(order[j]! - order[i]!);
  }
  return s / ((n * (n - 1)) / 2);
}

/**
 * `swaps` random transpositions, each of two blocks of one stage with the
 * same shapes (not a downsampling block), starting from the trained order.
 */
export function swapWithinStages(
  blocks: readonly BlockInfo[],
  swaps: number,
  random: () => number,
): number[] {
  const order = blocks.map((b) => b.index);
  const stages = [...new Set(blocks.map((b) => b.stage))]
    .map((s) => blocks.filter((b) => b.stage === s && !b.downsampling).map((b) => b.index))
    .filter((positions) => positions.length >= 2);
  if (stages.length === 0) return order;
  // A stage is picked in proportion to its swappable pairs, so every pair is equally likely.
  const pairs = stages.map((p) => (p.length * (p.length - 1)) / 2);
  const totalPairs = pairs.reduce((a, b) => a + b, 0);
  for (let t = 0; t < swaps; t++) {
    let r = random() * totalPairs;
    let s = 0;
    while (s < stages.length - 1 && r >= pairs[s]!) r -= pairs[s++]!;
    const [i, j] = chooseBlocks(stages[s]!.length, 2, random);
    const a = stages[s]![i!]!;
    const b = stages[s]![j!]!;
    [order[a], order[b]] = [order[b]!, order[a]!];
  }
  return order;
}

/** The lesions of a study, in the order they run: baseline, single deletions, then each draw's k deletions and reorderings. */
export function lesionPlan(options: {
  blocks: readonly BlockInfo[];
  draws: number;
  seed: number;
  /** Numbers of blocks deleted at random; default defaultDeleteCounts(n). */
  deleteCounts?: readonly number[];
  /** Numbers of swaps; default 1, 2, 4, … up to 2n. */
  swapCounts?: readonly number[];
}): Lesion[] {
  const { blocks, draws, seed } = options;
  const n = blocks.length;
  const deleteCounts = options.deleteCounts ?? defaultDeleteCounts(n);
  const swapCounts = options.swapCounts ?? defaultSwapCounts(n);
  const plan: Lesion[] = [{ kind: 'baseline' }];
  for (const b of blocks) plan.push({ kind: 'deleteOne', block: b.index });
  for (const k of deleteCounts) {
    if (!Number.isInteger(k) || k < 1 || k > n) {
      throw new RangeError(`cannot delete ${k} of ${n} blocks`);
    }
  }
  // Draw by draw, so a study stopped part-way has every k and every number of swaps.
  for (let draw = 0; draw < draws; draw++) {
    for (const k of deleteCounts) {
      const rng = createRng(deriveSeed(seed, `lesion/delete ${k}/draw ${draw}`));
      plan.push({ kind: 'deleteK', k, draw, blocks: chooseBlocks(n, k, rng.uniform) });
    }
    for (const swaps of swapCounts) {
      const rng = createRng(deriveSeed(seed, `lesion/swap ${swaps}/draw ${draw}`));
      const order = swapWithinStages(blocks, swaps, rng.uniform);
      plan.push({ kind: 'reorder', swaps, draw, order, tau: kendallTau(order) });
    }
  }
  return plan;
}

/** A stable name for a lesion, to match results across runs. */
export function lesionId(lesion: Lesion): string {
  switch (lesion.kind) {
    case 'baseline':
      return 'baseline';
    case 'deleteOne':
      return `delete ${lesion.block}`;
    case 'deleteK':
      return `delete ${lesion.k} draw ${lesion.draw}`;
    case 'reorder':
      return `swap ${lesion.swaps} draw ${lesion.draw}`;
  }
}

/**
 * The forward options and parameters that apply a lesion. Parameters of a
 * reordering are the trained tensors under their new positions' names (no
 * copies); the BN statistics move with their block.
 */
export function lesionedNetwork(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  lesion: Lesion;
}): { params: TensorMap; state: TensorMap; forward: ForwardOptions } {
  const { model, lesion } = options;
  const spec = model.spec;
  if (spec.kind !== 'resnet') throw new Error('the lesion study needs a ResNet');
  const blocks = residualBlocks(spec);
  let { params, state } = options;
  const deleted = new Set(
    lesion.kind === 'deleteOne' ? [lesion.block] : lesion.kind === 'deleteK' ? lesion.blocks : [],
  );
  if (lesion.kind === 'reorder') {
    params = renameBlocks(params, blocks, lesion.order);
    state = renameBlocks(state, blocks, lesion.order);
  }
  const forward: ForwardOptions = { training: false };
  if (spec.skip) {
    forward.combine = (block, residual, shortcut) =>
      deleted.has(block.index) ? shortcut : tf.add(residual, shortcut);
  } else {
    const byName = new Map(blocks.map((b) => [b.name, b]));
    let input: tf.Tensor | null = null;
    forward.tap = (name, t) => {
      const dot = name.lastIndexOf('.');
      const block = byName.get(name.slice(0, dot));
      if (!block) return t;
      if (name.endsWith('.input')) {
        input = t;
        return t;
      }
      if (!deleted.has(block.index) || input === null) return t;
      if (!block.downsampling) return input;
      return subsampleAndPadChannels({
        x: input as tf.Tensor4D,
        stride: 2,
        outChannels: t.shape[3]!,
      });
    };
  }
  return { params, state, forward };
}

/** Tensors of block order[p] under block p's name. */
function renameBlocks(map: TensorMap, blocks: readonly BlockInfo[], order: number[]): TensorMap {
  const out: TensorMap = { ...map };
  blocks.forEach((target, p) => {
    const source = blocks[order[p]!]!;
    if (source.index === target.index) return;
    const prefix = `${source.name}.`;
    for (const [key, t] of Object.entries(map)) {
      if (key.startsWith(prefix)) out[`${target.name}.${key.slice(prefix.length)}`] = t;
    }
  });
  return out;
}

export interface LesionProgress {
  /** Lesions evaluated (all of the subset each). */
  done: number;
  total: number;
  /** Images per second so far. */
  rate: number;
  /** The lesion just finished. */
  last: string;
}

/** Assemble what a plan's finished lesions say (null where a lesion is not done). */
export function lesionResult(options: {
  blocks: BlockInfo[];
  skip: boolean;
  images: number;
  draws: number;
  seed: number;
  plan: readonly Lesion[];
  errors: ReadonlyMap<string, number>;
}): LesionResult {
  const { blocks, plan, errors } = options;
  const error = (l: Lesion) => errors.get(lesionId(l)) ?? null;
  const deleteKDraws = plan.flatMap((l) =>
    l.kind === 'deleteK' ? [{ k: l.k, draw: l.draw, blocks: [...l.blocks], error: error(l) }] : [],
  );
  const ks = [...new Set(deleteKDraws.map((d) => d.k))];
  return {
    skip: options.skip,
    images: options.images,
    draws: options.draws,
    seed: options.seed,
    blocks,
    baselineError: error({ kind: 'baseline' }),
    deleteOne: blocks.map((b) => ({ ...b, error: error({ kind: 'deleteOne', block: b.index }) })),
    deleteK: ks.map((k) => {
      const done = deleteKDraws.filter((d) => d.k === k && d.error !== null).map((d) => d.error!);
      const { mean, std } = meanAndStd(done);
      return { k, error: mean, spread: std, draws: done.length };
    }),
    deleteKDraws,
    reorder: plan.flatMap((l) =>
      l.kind === 'reorder'
        ? [{ swaps: l.swaps, draw: l.draw, tau: l.tau, order: [...l.order], error: error(l) }]
        : [],
    ),
  };
}

/** Mean and (population) standard deviation; nulls for no values. */
export function meanAndStd(values: readonly number[]): { mean: number | null; std: number | null } {
  if (values.length === 0) return { mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * Run a lesion study: every lesion of the plan on the first `data.count`
 * test images. Lesions already in `previous` (same plan, same images) are
 * not run again. Resolves with what is done when the signal fires.
 *
 * A lesion changes nothing before its first changed block f (the deleted
 * block, the first of the k deleted, the first moved one), so up to the input
 * of block f the lesioned network computes exactly the intact one's tensors.
 * The lesions run in groups (lesionGroups): per batch, one intact pass caches
 * the inputs of the blocks the group starts from, and each lesion runs only
 * from there. Single deletions of n blocks then cost n(n + 1)/2 block
 * evaluations (plus one intact pass per group) instead of n(n + 1): half.
 * Between groups the intact input of the last block a group started from is
 * kept for every batch, and the next group's intact pass starts there when it
 * can. The errors are those of whole passes, bit for bit (the same kernels on
 * the same tensors; tests/unit/paths.test.ts compares them).
 */
export async function lesionStudy(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  data: Dataset;
  batchSize: number;
  draws: number;
  seed: number;
  deleteCounts?: readonly number[];
  swapCounts?: readonly number[];
  /** Which lesions to run (default all): e.g. only the single deletions. */
  kinds?: readonly Lesion['kind'][];
  previous?: LesionResult;
  signal?: AbortSignal;
  onProgress?: (progress: LesionProgress) => void;
  /** After each lesion (on one thread) or each group of lesions (on a pool), the study so far. */
  onPartial?: (result: LesionResult) => void | Promise<void>;
  /**
   * Replicas (worker threads) to deal groups of lesions out to, with θ* as
   * arrays to send them; default: this thread. Each replica runs its groups
   * from their first changed blocks as this thread would (see pooledLesions)
   * and counts a lesion's correct answers over the whole subset, so the study
   * is the same as on one thread.
   */
  pool?: { pool: PlanePool; origin: Origin } | undefined;
}): Promise<LesionResult> {
  const { model, params, state, data, batchSize, draws, seed, signal } = options;
  const spec = model.spec;
  if (spec.kind !== 'resnet') throw new Error('the lesion study needs a ResNet');
  if (!Number.isInteger(draws) || draws < 1) {
    throw new RangeError(`draws must be a whole number of at least 1, got ${draws}`);
  }
  const blocks = residualBlocks(spec);
  const kinds = new Set(options.kinds ?? ['baseline', 'deleteOne', 'deleteK', 'reorder']);
  const plan = lesionPlan({
    blocks,
    draws,
    seed,
    ...(options.deleteCounts ? { deleteCounts: options.deleteCounts } : {}),
    ...(options.swapCounts ? { swapCounts: options.swapCounts } : {}),
  }).filter((l) => kinds.has(l.kind));
  const errors = new Map<string, number>();
  if (options.previous) {
    const p = options.previous;
    // Lesions are named by what they draw from (seed, k or swaps, draw), so a study resumes with
    // more draws or other counts; only the images, the seed and the network must match.
    if (p.images !== data.count || p.seed !== seed || p.skip !== spec.skip) {
      throw new Error(
        `the previous study used ${p.images} images and seed ${p.seed}` +
          `${p.skip === spec.skip ? '' : ' on another network'}; this one ${data.count} images and seed ${seed}`,
      );
    }
    const previousPlan = lesionPlan({
      blocks,
      draws: p.draws,
      seed,
      deleteCounts: [...new Set(p.deleteKDraws.map((d) => d.k))],
      swapCounts: [...new Set(p.reorder.map((r) => r.swaps))],
    });
    const known = new Map<string, number | null>([
      ['baseline', p.baselineError],
      ...p.deleteOne.map((d) => [`delete ${d.index}`, d.error] as [string, number | null]),
      ...p.deleteKDraws.map(
        (d) => [`delete ${d.k} draw ${d.draw}`, d.error] as [string, number | null],
      ),
      ...p.reorder.map(
        (r) => [`swap ${r.swaps} draw ${r.draw}`, r.error] as [string, number | null],
      ),
    ]);
    for (const l of previousPlan) {
      const e = known.get(lesionId(l));
      if (e !== null && e !== undefined) errors.set(lesionId(l), e);
    }
  }
  const result = () =>
    lesionResult({ blocks, skip: spec.skip, images: data.count, draws, seed, plan, errors });
  const t0 = performance.now();
  let evaluated = 0;
  /** One lesion's error from its count of correct answers, and the progress so far. */
  const record = (lesion: Lesion, correct: number): void => {
    const id = lesionId(lesion);
    errors.set(id, 1 - correct / data.count);
    evaluated++;
    options.onProgress?.({
      done: plan.filter((l) => errors.has(lesionId(l))).length,
      total: plan.length,
      rate: (evaluated * data.count) / Math.max((performance.now() - t0) / 1000, 1e-9),
      last: id,
    });
  };
  if (options.pool) {
    return pooledLesions({
      ...options,
      pool: options.pool,
      n: blocks.length,
      plan,
      errors,
      result,
      record,
    });
  }

  const n = blocks.length;
  const sweep = new LesionSweep({ model, params, state, data, batchSize });
  try {
    const todo = plan.filter((l) => !errors.has(lesionId(l)));
    for (const group of lesionGroups(todo, n, GROUP_BUDGET * n)) {
      // Let a cancel (a worker message, a terminal's Ctrl-C) arrive: on CPU backends data()
      // resolves as a microtask, so without this the loop never hands back to the event loop.
      await yieldToEventLoop();
      if (signal?.aborted) break;
      const correct = await sweep.run(group, signal);
      if (correct === null) break;
      // Report lesion by lesion, letting a cancel arrive in between: it stops the study there,
      // and the rest of the group is not kept, as if it had not run.
      for (const [j, lesion] of group.entries()) {
        if (j > 0) await yieldToEventLoop();
        if (j > 0 && signal?.aborted) break;
        record(lesion, correct[j]!);
        await options.onPartial?.(result());
      }
    }
    return result();
  } finally {
    sweep.dispose();
  }
}

/**
 * The test images of a lesion study in passes, and the machinery that runs a
 * group of lesions over them from each lesion's first changed block (see
 * lesionStudy). The same object runs the study on one thread and a replica's
 * share of it on a worker thread (landscape/pool.ts), so both compute the
 * same tensors.
 *
 * Between groups it keeps the intact network's input of the last block a
 * group started from, for every pass: a later group whose lesions all start
 * at or after that block runs its intact pass from there, not from the image.
 * A replica given the groups in plan order therefore computes the intact
 * prefix once in all, as one thread does.
 */
export class LesionSweep {
  private readonly model: Model;
  private readonly params: TensorMap;
  private readonly state: TensorMap;
  /** Correct answers are counted over this many images. */
  readonly count: number;
  private readonly n: number;
  private readonly inputs: { x: tf.Tensor; labels: tf.Tensor1D }[];
  /** The intact network's activation at the input of one block, for every pass. */
  private boundary: { block: number; x: tf.Tensor[] } | null = null;

  constructor(options: {
    model: Model;
    params: TensorMap;
    state: TensorMap;
    data: Dataset;
    batchSize: number;
  }) {
    const { model, data } = options;
    if (model.spec.kind !== 'resnet') throw new Error('the lesion study needs a ResNet');
    this.model = model;
    this.params = options.params;
    this.state = options.state;
    this.count = data.count;
    this.n = residualBlocks(model.spec).length;
    // The test images as tensors once, reused by every lesion, in passes of at most
    // EVALUATION_BATCH images: a pass holds its intermediate tensors until it ends.
    const passSize = Math.max(1, Math.min(options.batchSize, EVALUATION_BATCH));
    this.inputs = [...batches({ dataset: data, batchSize: passSize })].map((b) => ({
      x: tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]),
      labels: tf.tensor1d(b.y, 'int32'),
    }));
  }

  private inputProbe(f: number): string {
    return `${residualBlocks(this.model.spec)[f]!.name}.input`;
  }

  /**
   * Images each lesion of the group gets right, over every pass; null when
   * the signal fired before the group finished (nothing of it is kept).
   */
  async run(group: readonly Lesion[], signal?: AbortSignal): Promise<number[] | null> {
    const { model, params, state, n, inputs } = this;
    const firsts = group.map((l) => firstChangedBlock(l, n));
    // The blocks whose intact inputs the group starts from, and whether it needs the logits.
    const starts = [...new Set(firsts.filter((f) => f < n))].sort((a, b) => a - b);
    const toLogits = firsts.includes(n);
    const boundary = this.boundary;
    const from = boundary !== null && boundary.block <= Math.min(...firsts) ? boundary : null;
    const networks = group.map((lesion) => lesionedNetwork({ model, params, state, lesion }));
    const correct = group.map(() => 0);
    const nextBoundary: tf.Tensor[] = [];
    let complete = true;
    for (let p = 0; p < inputs.length; p++) {
      if (p > 0) await yieldToEventLoop();
      if (signal?.aborted) {
        complete = false;
        break;
      }
      const { x, labels } = inputs[p]!;
      // The intact network, from the boundary or the image, up to the last block the group
      // changes (or to the logits, for the baseline); its inputs there are what every lesion of
      // the group computes too before its first change, bit for bit the same ops on the same
      // tensors, so each lesion runs only from its first changed block on.
      const intact = tf.tidy(() => {
        const out = model.forward(params, state, x, {
          training: false,
          trace: true,
          ...(from ? { from: { probe: this.inputProbe(from.block), x: from.x[p]! } } : {}),
          ...(toLogits ? {} : { to: this.inputProbe(starts[starts.length - 1]!) }),
        });
        return {
          at: starts.map((f) => out.trace![this.inputProbe(f)]!),
          count: toLogits ? countCorrect(out.logits, labels) : tf.scalar(0, 'int32'),
        };
      });
      // Each lesion in a scope of its own, so its intermediate tensors go before the next one
      // runs; the counts are read together, one wait per pass.
      const perLesion = group.map((_, j) => {
        const f = firsts[j]!;
        if (f === n) return intact.count;
        const network = networks[j]!;
        return tf.tidy(() => {
          const { logits } = model.forward(network.params, network.state, x, {
            ...network.forward,
            from: { probe: this.inputProbe(f), x: intact.at[starts.indexOf(f)]! },
          });
          return countCorrect(logits, labels);
        });
      });
      const counts = tf.stack(perLesion);
      for (const c of perLesion) if (c !== intact.count) c.dispose();
      const values = await counts.data();
      counts.dispose();
      values.forEach((v, j) => (correct[j]! += v));
      intact.count.dispose();
      // Keep the last start as this pass's boundary; the rest goes (but never the old boundary,
      // which a start at the boundary's own block returns as is).
      const last = intact.at[intact.at.length - 1];
      if (last) nextBoundary.push(last);
      for (const t of intact.at) {
        if (t !== last && t !== from?.x[p]) t.dispose();
      }
    }
    if (!complete) {
      for (const [p, t] of nextBoundary.entries()) if (t !== from?.x[p]) t.dispose();
      return null;
    }
    if (nextBoundary.length === inputs.length) {
      if (boundary) {
        for (const [p, t] of boundary.x.entries()) if (t !== nextBoundary[p]) t.dispose();
      }
      this.boundary = { block: starts[starts.length - 1]!, x: nextBoundary };
    }
    return correct;
  }

  /** Release the images and the kept boundary. */
  dispose(): void {
    for (const { x, labels } of this.inputs) {
      x.dispose();
      labels.dispose();
    }
    for (const t of this.boundary?.x ?? []) t.dispose();
    this.boundary = null;
  }
}

/**
 * The lesion study on a pool of replicas (worker threads). The lesions to
 * run are cut into groups as on one thread, but smaller (a replica's share
 * of the budget), and the groups are dealt out in plan order to whichever
 * replica is free. Each replica runs its groups with its own LesionSweep, so
 * each shares its own intact prefix: the single deletions of n blocks cost
 * about n(n + 1)/2 block evaluations in all, plus one intact prefix per
 * replica (at most n blocks each), instead of n(n + 1) with whole passes.
 * A lesion's correct answers are counted by one replica over the whole
 * subset in the same passes as on one thread, so the errors are the same.
 */
async function pooledLesions(options: {
  pool: { pool: PlanePool; origin: Origin };
  data: Dataset;
  batchSize: number;
  n: number;
  plan: readonly Lesion[];
  errors: Map<string, number>;
  result: () => LesionResult;
  /** Keeps one lesion's count of correct answers and reports progress (lesionStudy's). */
  record: (lesion: Lesion, correct: number) => void;
  signal?: AbortSignal | undefined;
  onPartial?: ((result: LesionResult) => void | Promise<void>) | undefined;
}): Promise<LesionResult> {
  const { pool, origin } = options.pool;
  const { data, plan, errors, result, record, signal, n } = options;
  const todo = plan.filter((l) => !errors.has(lesionId(l)));
  const groups = lesionGroups(todo, n, pooledGroupBudget(n, pool.replicas));
  let next = 0;
  // Partial results are handed on one at a time, in the order groups finish.
  let partials = Promise.resolve();
  const lane = async (index: number, failed: () => boolean): Promise<void> => {
    while (!failed()) {
      // Let a cancel (a worker message, a terminal's Ctrl-C) arrive between groups.
      await yieldToEventLoop();
      if (signal?.aborted) return;
      const group = groups[next++];
      if (group === undefined) return;
      const correct = await pool.lesionGroup(index, group);
      // null: the replica was told to stop part-way (see below); its group is not kept.
      if (correct === null) return;
      for (const [j, lesion] of group.entries()) record(lesion, correct[j]!);
      const snapshot = result();
      partials = partials.then(() => options.onPartial?.(snapshot));
      await partials;
    }
  };
  // A cancel stops the replicas within a pass of images, not at the end of their groups.
  const stop = () => void pool.stopLesions().catch(() => undefined);
  signal?.addEventListener('abort', stop);
  try {
    await onEveryReplica({ pool, origin, data, batchSize: options.batchSize, lane });
    return result();
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * A pooled group's budget of block evaluations per image: one thread's budget
 * shared among the replicas (at least one network's worth), so there are
 * several groups per replica to balance the load with.
 */
export function pooledGroupBudget(n: number, replicas: number): number {
  return Math.max(n, Math.floor((GROUP_BUDGET * n) / Math.max(1, replicas)));
}

/** Images per forward pass of the lesion study at most (see lesionStudy). */
export const EVALUATION_BATCH = 50;

/**
 * Lesions per group, by cost: a group's lesions share one intact pass per batch, and a group
 * is closed once its lesions would cost more than this many networks' worth of blocks.
 */
const GROUP_BUDGET = 4;

/**
 * The first block whose computation a lesion changes (n for none: the intact network). Up to
 * there the lesioned network computes exactly what the intact one does.
 */
export function firstChangedBlock(lesion: Lesion, n: number): number {
  switch (lesion.kind) {
    case 'baseline':
      return n;
    case 'deleteOne':
      return lesion.block;
    case 'deleteK':
      return Math.min(n, ...lesion.blocks);
    case 'reorder': {
      const p = lesion.order.findIndex((b, i) => b !== i);
      return p < 0 ? n : p;
    }
  }
}

/**
 * Consecutive lesions in groups of at most `budget` block evaluations per image (a lesion from
 * block f costs n − f, the intact network n), and at least one lesion each: a group runs as one
 * sweep over the images, so its results arrive together.
 */
export function lesionGroups(lesions: readonly Lesion[], n: number, budget: number): Lesion[][] {
  const groups: Lesion[][] = [];
  let cost = Infinity;
  for (const lesion of lesions) {
    const f = firstChangedBlock(lesion, n);
    const c = f >= n ? n : n - f;
    if (cost + c > budget) {
      groups.push([]);
      cost = 0;
    }
    groups[groups.length - 1]!.push(lesion);
    cost += c;
  }
  return groups;
}
