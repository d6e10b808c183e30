/**
 * Data-parallel training over several replicas, each with its own tfjs
 * instance (a Node worker thread or a browser worker, each with its own wasm
 * module), so a run uses every core.
 *
 * Per step, like PyTorch's DistributedDataParallel:
 *
 *   1. the coordinator splits the batch of B images into K shards of n_k;
 *   2. replica k computes g_k = ∇θ L_k, the gradient of its shard's mean loss
 *      in training mode (BN normalises with the shard's own statistics, as
 *      DDP does without SyncBatchNorm), and its shard's BN batch statistics;
 *   3. the coordinator averages g = Σ_k (n_k / B) g_k, the gradient of the
 *      batch's mean loss up to the per-shard BN, and combines the shards'
 *      statistics into those of the whole batch (law of total variance):
 *        μ = Σ_k w_k μ_k,   σ² = Σ_k w_k σ²_k + Σ_k w_k (μ_k − μ)²,   w_k = n_k / B;
 *      (σ²_k are unbiased over n_k·H·W values, so σ² is the batch's unbiased
 *      variance up to Bessel factors (m−1)/m with m ≥ n_k·H·W, under 0.1 % for
 *      every conv layer here; DDP instead keeps rank 0's statistics only);
 *   4. every replica applies the same SGD step with the same g and folds the
 *      same statistics, so all replicas hold bit-identical θ, momentum and
 *      running statistics, without θ ever being sent again.
 *
 * The loss is checked before step 4, so a non-finite step is never applied.
 * Transport is any message channel (worker_threads ports, browser
 * MessagePorts, or an in-process pair in tests).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model, ModelSpec, TensorMap } from '../models/types';
import { batchGradients, LocalEngine } from './engine';
import type { BatchTotals, StepOutcome, TrainEngine } from './engine';
import type { SgdConfig } from './optimizer';
import { disposeMap } from './state';
import { measureMatMul } from './throughput';
import type { TrainingState } from './state';
import type { Batch } from './types';
import { normalizationFor } from '../data/dataset';
import type { HvpMethod } from '../landscape/hessian';
import { batchAlignedShares, PlaneReplica, sliceDataset } from '../landscape/pool';
import type { PlanePool, PlaneSetup } from '../landscape/pool';
import type { Lesion } from '../paths/lesion';
import type { PathSampleRequest } from '../paths/gradient';

/** What the coordinator asks of a replica. */
export type ReplicaRequest =
  | { type: 'init'; id: number; spec: ModelSpec; sgd: SgdConfig }
  | { type: 'load'; id: number; training: TrainingState }
  | { type: 'gradients'; id: number; batch: Batch }
  | { type: 'apply'; id: number; grads: Float32Array; stats: Float32Array; lr: number }
  | { type: 'evaluate'; id: number; batch: Batch }
  | { type: 'snapshot'; id: number }
  /** Measure this replica's dense matMul rate (the benchmark's yardstick). */
  | { type: 'matmul'; id: number; size: number; minSeconds: number }
  /** Hold a plane through θ* for grid points and Hessian-vector products (landscape/pool.ts). */
  | { type: 'plane'; id: number; setup: PlaneSetup }
  | { type: 'point'; id: number; alpha: number; beta: number }
  | {
      type: 'product';
      id: number;
      alpha: number;
      beta: number;
      v: Float64Array;
      hvp: HvpMethod;
      finiteDifferenceStep: number | undefined;
    }
  /** Run a group of lesions from their first changed blocks (paths/lesion.ts, LesionSweep). */
  | { type: 'lesions'; id: number; lesions: Lesion[] }
  /**
   * Stop the group of lesions in progress within a pass, and every later one
   * until the next plane: a cancel. Answered at once, not after the requests
   * before it.
   */
  | { type: 'stopLesions'; id: number }
  | { type: 'pathSample'; id: number; request: PathSampleRequest }
  | { type: 'releasePlane'; id: number }
  | { type: 'dispose'; id: number };

/** A replica's answers, matched to requests by id. */
export type ReplicaReply =
  /** numTensors: this thread's tfjs tensors before the replica made any. */
  | { type: 'ready'; id: number; backend: string; numTensors: number }
  | { type: 'ok'; id: number }
  | {
      type: 'gradients';
      id: number;
      totals: BatchTotals;
      /** ∇ of the shard's mean loss, parameters concatenated in model order. */
      grads: Float32Array;
      /** BN batch statistics, concatenated in the model's state order. */
      stats: Float32Array;
    }
  | { type: 'totals'; id: number; totals: BatchTotals }
  | { type: 'snapshot'; id: number; training: TrainingState }
  | { type: 'matmul'; id: number; gflops: number; seconds: number }
  | { type: 'point'; id: number; loss: number; accuracy: number }
  /** Σ over the replica's images of ∇²ℓ_i v. */
  | { type: 'product'; id: number; hv: Float64Array }
  /** Correct answers per lesion of the group; null when stopped part-way. */
  | { type: 'lesions'; id: number; correct: number[] | null }
  | { type: 'pathSample'; id: number; value: number }
  | { type: 'disposed'; id: number; numTensors: number }
  | { type: 'error'; id: number; message: string };

/** A bidirectional message channel; adapters exist for each runtime. */
export interface Channel<In, Out> {
  send(message: Out, transfer?: Transferable[]): void;
  onMessage(handler: (message: In) => void): void;
}

/** Buffers that can be moved, not copied, when a message is posted. */
function buffersOf(...arrays: (ArrayBufferView | undefined)[]): Transferable[] {
  const out: Transferable[] = [];
  for (const a of arrays) {
    if (a && a.buffer instanceof ArrayBuffer && !out.includes(a.buffer)) out.push(a.buffer);
  }
  return out;
}

/** Parameter and statistic sizes, in the order tensors are concatenated. */
function layoutOf(model: Model): { paramSizes: number[]; statSizes: number[] } {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return {
    paramSizes: model.params.map((p) => size(p.shape)),
    statSizes: model.state.map((s) => size(s.shape)),
  };
}

/** One flat tensor from a map, in the given name order (read with one `data()`). */
function concatFlat(map: TensorMap, names: string[]): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.concat(
        names.map((n) => tf.reshape(map[n]!, [-1])),
        0,
      ) as tf.Tensor1D,
  );
}

/** Back from one flat array to named tensors of the model's shapes. */
function splitFlat(flat: Float32Array, infos: { name: string; shape: number[] }[]): TensorMap {
  const out: TensorMap = {};
  let offset = 0;
  for (const { name, shape } of infos) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = tf.tensor(flat.subarray(offset, offset + n), shape, 'float32');
    offset += n;
  }
  return out;
}

/**
 * The replica side: answers a coordinator's requests on `channel` with a
 * LocalEngine on this thread's tfjs backend. Returns once set up; requests
 * are handled one at a time, in order.
 */
export function serveReplica(options: {
  channel: Channel<ReplicaRequest, ReplicaReply>;
  createModel: (spec: ModelSpec) => Model;
}): void {
  const { channel, createModel } = options;
  let model: Model | null = null;
  let engine: LocalEngine | null = null;
  let plane: PlaneReplica | null = null;
  let queue = Promise.resolve();
  /** Aborted by stopLesions; a new one with each plane. */
  let lesionStop = new AbortController();
  const needPlane = (): PlaneReplica => {
    if (!plane) throw new Error('replica: no plane loaded');
    return plane;
  };
  const need = (): { model: Model; engine: LocalEngine } => {
    if (!model || !engine) throw new Error('replica: not initialised');
    return { model, engine };
  };
  const handle = async (request: ReplicaRequest): Promise<void> => {
    const { id } = request;
    switch (request.type) {
      case 'init': {
        const numTensors = tf.memory().numTensors;
        model = createModel(request.spec);
        plane?.dispose();
        plane = null;
        await engine?.dispose();
        engine = new LocalEngine({ model, sgd: request.sgd });
        channel.send({ type: 'ready', id, backend: engine.backend, numTensors });
        return;
      }
      case 'load':
        await need().engine.load(request.training);
        channel.send({ type: 'ok', id });
        return;
      case 'gradients': {
        const { model: m, engine: e } = need();
        const live = e.tensors();
        const { loss, correct, grads, batchStats } = batchGradients({
          model: m,
          params: live.params,
          state: live.state,
          batch: request.batch,
        });
        try {
          const g = concatFlat(
            grads,
            m.params.map((p) => p.name),
          );
          const s = concatFlat(
            batchStats,
            m.state.map((p) => p.name),
          );
          try {
            const [l, c, gv, sv] = await Promise.all([
              loss.data(),
              correct.data(),
              g.data(),
              s.data(),
            ]);
            const flatGrads = Float32Array.from(gv as Float32Array);
            const flatStats = Float32Array.from(sv as Float32Array);
            const n = request.batch.n;
            channel.send(
              {
                type: 'gradients',
                id,
                totals: { lossSum: l[0]! * n, correct: c[0]!, count: n },
                grads: flatGrads,
                stats: flatStats,
              },
              buffersOf(flatGrads, flatStats),
            );
          } finally {
            g.dispose();
            s.dispose();
          }
        } finally {
          loss.dispose();
          correct.dispose();
          disposeMap(grads);
          disposeMap(batchStats);
        }
        return;
      }
      case 'apply': {
        const { model: m, engine: e } = need();
        const grads = splitFlat(request.grads, m.params);
        const stats = splitFlat(request.stats, m.state);
        try {
          e.applyUpdate(grads, stats, request.lr);
        } finally {
          disposeMap(grads);
          disposeMap(stats);
        }
        channel.send({ type: 'ok', id });
        return;
      }
      case 'evaluate': {
        const totals = await need().engine.evaluate(request.batch);
        channel.send({ type: 'totals', id, totals });
        return;
      }
      case 'snapshot': {
        const training = await need().engine.snapshot();
        channel.send({ type: 'snapshot', id, training });
        return;
      }
      case 'matmul': {
        const m = await measureMatMul({ size: request.size, minSeconds: request.minSeconds });
        channel.send({ type: 'matmul', id, gflops: m.gflops, seconds: m.seconds });
        return;
      }
      case 'plane': {
        const m = need().model;
        plane?.dispose();
        plane = null;
        plane = new PlaneReplica(m, request.setup);
        lesionStop = new AbortController();
        channel.send({ type: 'ok', id });
        return;
      }
      case 'point': {
        const { loss, accuracy } = await needPlane().point(request.alpha, request.beta);
        channel.send({ type: 'point', id, loss, accuracy });
        return;
      }
      case 'product': {
        const hv = await needPlane().product(request);
        channel.send({ type: 'product', id, hv }, buffersOf(hv));
        return;
      }
      case 'lesions': {
        const correct = await needPlane().lesionGroup(request.lesions, lesionStop.signal);
        channel.send({ type: 'lesions', id, correct });
        return;
      }
      case 'stopLesions':
        // Handled on arrival (see onMessage below); never queued.
        return;
      case 'pathSample': {
        const value = await needPlane().pathSample(request.request);
        channel.send({ type: 'pathSample', id, value });
        return;
      }
      case 'releasePlane':
        plane?.dispose();
        plane = null;
        channel.send({ type: 'ok', id });
        return;
      case 'dispose':
        plane?.dispose();
        plane = null;
        await engine?.dispose();
        engine = null;
        model = null;
        channel.send({ type: 'disposed', id, numTensors: tf.memory().numTensors });
        return;
    }
  };
  channel.onMessage((request) => {
    if (request.type === 'stopLesions') {
      lesionStop.abort();
      channel.send({ type: 'ok', id: request.id });
      return;
    }
    queue = queue.then(() =>
      handle(request).catch((e: unknown) => {
        channel.send({
          type: 'error',
          id: request.id,
          message: e instanceof Error ? (e.stack ?? e.message) : String(e),
        });
      }),
    );
  });
}

/** A replica as the coordinator sees it: request → promise of the reply. */
class ReplicaClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: ReplicaReply) => void; reject: (e: Error) => void }
  >();
  constructor(
    private readonly channel: Channel<ReplicaReply, ReplicaRequest>,
    readonly index: number,
  ) {
    channel.onMessage((reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.type === 'error') p.reject(new Error(`replica ${index}: ${reply.message}`));
      else p.resolve(reply);
    });
  }

  /** Fail every request in flight (the replica died). */
  failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  request<T extends ReplicaReply['type']>(
    message: DistributiveOmit<ReplicaRequest, 'id'>,
    expect: T,
    transfer: Transferable[] = [],
  ): Promise<Extract<ReplicaReply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) =>
          r.type === expect
            ? resolve(r as Extract<ReplicaReply, { type: T }>)
            : reject(new Error(`replica ${this.index}: expected ${expect}, got ${r.type}`)),
        reject,
      });
      this.channel.send({ ...message, id } as ReplicaRequest, transfer);
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Cut a batch into k near-equal shards (copies, so each can be transferred). */
export function shardBatch(batch: Batch, k: number): Batch[] {
  const size = batch.height * batch.width * batch.channels;
  const shards: Batch[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const n = Math.floor(batch.n / k) + (i < batch.n % k ? 1 : 0);
    if (n === 0) continue;
    shards.push({
      ...batch,
      n,
      x: batch.x.slice(start * size, (start + n) * size),
      labels: batch.labels.slice(start, start + n),
    });
    start += n;
  }
  return shards;
}

/**
 * Pairs of (mean, variance) state indices of each BN layer: names sharing a
 * prefix up to the last '.', one with role runningMean and one runningVar.
 */
export function batchNormPairs(model: Model): [number, number][] {
  const prefix = (name: string) => name.slice(0, Math.max(0, name.lastIndexOf('.')));
  const vars = new Map<string, number>();
  model.state.forEach((s, i) => {
    if (s.role === 'runningVar') vars.set(prefix(s.name), i);
  });
  const pairs: [number, number][] = [];
  model.state.forEach((s, i) => {
    if (s.role !== 'runningMean') return;
    const v = vars.get(prefix(s.name));
    if (v === undefined) throw new Error(`no running variance beside ${s.name}`);
    pairs.push([i, v]);
  });
  return pairs;
}

/**
 * Whole-batch statistics from the shards' (law of total variance; see the
 * module comment). `stats[k]` is shard k's flat statistics in state order.
 */
export function combineBatchStats(options: {
  model: Model;
  stats: Float32Array[];
  counts: number[];
}): Float32Array {
  const { model, stats, counts } = options;
  const total = counts.reduce((a, b) => a + b, 0);
  const weights = counts.map((n) => n / total);
  const offsets: number[] = [];
  let at = 0;
  for (const s of model.state) {
    offsets.push(at);
    at += s.shape.reduce((a, b) => a * b, 1);
  }
  const out = new Float32Array(at);
  for (const [mi, vi] of batchNormPairs(model)) {
    const mo = offsets[mi]!;
    const vo = offsets[vi]!;
    const channels = model.state[mi]!.shape.reduce((a, b) => a * b, 1);
    for (let c = 0; c < channels; c++) {
      let mean = 0;
      for (let k = 0; k < stats.length; k++) mean += weights[k]! * stats[k]![mo + c]!;
      let variance = 0;
      for (let k = 0; k < stats.length; k++) {
        const d = stats[k]![mo + c]! - mean;
        variance += weights[k]! * (stats[k]![vo + c]! + d * d);
      }
      out[mo + c] = mean;
      out[vo + c] = variance;
    }
  }
  return out;
}

/**
 * The coordinator: a TrainEngine whose steps run on K replicas, and a
 * PlanePool whose replicas compute grid points and Hessian-vector products.
 */
export class ParallelEngine implements TrainEngine, PlanePool {
  readonly backend: string;
  private readonly model: Model;
  private readonly clients: ReplicaClient[];
  private readonly gradientLength: number;
  private readonly onDispose: () => Promise<void>;
  /** Replicas holding a plane ('split' shares leave out those with no images). */
  private planeClients: ReplicaClient[] = [];
  /** Each replica's tfjs tensor count when it started (see replicaTensorsAfterDispose). */
  readonly replicaTensorsAtStart: number[];

  private constructor(options: {
    model: Model;
    clients: ReplicaClient[];
    backend: string;
    onDispose: () => Promise<void>;
    tensorsAtStart: number[];
  }) {
    this.model = options.model;
    this.clients = options.clients;
    this.backend = options.backend;
    this.onDispose = options.onDispose;
    this.replicaTensorsAtStart = options.tensorsAtStart;
    this.gradientLength = layoutOf(this.model).paramSizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Start K replicas on the given channels. `onDispose` releases what the
   * caller started (terminates the workers); a caller that sees a replica die
   * calls `fail` so the requests in flight reject.
   */
  static async create(options: {
    model: Model;
    sgd: SgdConfig;
    channels: Channel<ReplicaReply, ReplicaRequest>[];
    onDispose?: () => Promise<void>;
  }): Promise<ParallelEngine> {
    if (options.channels.length === 0) throw new Error('ParallelEngine needs at least one replica');
    const clients = options.channels.map((c, i) => new ReplicaClient(c, i));
    const ready = await Promise.all(
      clients.map((c) =>
        c.request({ type: 'init', spec: options.model.spec, sgd: options.sgd }, 'ready'),
      ),
    );
    const backend = `${ready[0]!.backend}×${clients.length}`;
    return new ParallelEngine({
      model: options.model,
      clients,
      backend,
      onDispose: options.onDispose ?? (async () => undefined),
      tensorsAtStart: ready.map((r) => r.numTensors),
    });
  }

  get replicas(): number {
    return this.clients.length;
  }

  /** Fail whatever is in flight: a replica's worker died with this error. */
  fail(error: Error): void {
    for (const c of this.clients) c.failAll(error);
  }

  async load(training: TrainingState): Promise<void> {
    await Promise.all(this.clients.map((c) => c.request({ type: 'load', training }, 'ok')));
  }

  async trainStep(batch: Batch, lr: number): Promise<StepOutcome> {
    // At least two images per shard: BN's unbiased variance needs them.
    const shards = shardBatch(
      batch,
      Math.max(1, Math.min(this.clients.length, Math.floor(batch.n / 2))),
    );
    const replies = await Promise.all(
      shards.map((shard, k) =>
        this.clients[k]!.request(
          { type: 'gradients', batch: shard },
          'gradients',
          buffersOf(shard.x, shard.labels),
        ),
      ),
    );
    const totals = sumTotals(replies.map((r) => r.totals));
    const outcome = { ...totals, applied: false };
    if (!Number.isFinite(totals.lossSum)) return outcome;
    const grads = new Float32Array(this.gradientLength);
    for (const r of replies) {
      const w = r.totals.count / totals.count;
      const g = r.grads;
      for (let i = 0; i < grads.length; i++) grads[i]! += w * g[i]!;
    }
    for (let i = 0; i < grads.length; i++) if (!Number.isFinite(grads[i]!)) return outcome;
    const stats = combineBatchStats({
      model: this.model,
      stats: replies.map((r) => r.stats),
      counts: replies.map((r) => r.totals.count),
    });
    // Every replica, shard-less ones included, applies the same update.
    await Promise.all(
      this.clients.map((c) => c.request({ type: 'apply', grads, stats, lr }, 'ok')),
    );
    return { ...totals, applied: true };
  }

  async evaluate(batch: Batch): Promise<BatchTotals> {
    const shards = shardBatch(batch, this.clients.length);
    const replies = await Promise.all(
      shards.map((shard, k) =>
        this.clients[k]!.request(
          { type: 'evaluate', batch: shard },
          'totals',
          buffersOf(shard.x, shard.labels),
        ),
      ),
    );
    return sumTotals(replies.map((r) => r.totals));
  }

  async snapshot(): Promise<TrainingState> {
    return (await this.clients[0]!.request({ type: 'snapshot' }, 'snapshot')).training;
  }

  /** Snapshots of every replica (to check they agree). */
  async snapshots(): Promise<TrainingState[]> {
    return Promise.all(
      this.clients.map(async (c) => (await c.request({ type: 'snapshot' }, 'snapshot')).training),
    );
  }

  /**
   * Every replica multiplies n×n matrices at once; the sum of their rates is
   * the machine's dense rate with this many threads busy.
   */
  async matMulGflops(options: {
    size: number;
    minSeconds: number;
  }): Promise<{ total: number; perReplica: number[] }> {
    const replies = await Promise.all(
      this.clients.map((c) => c.request({ type: 'matmul', ...options }, 'matmul')),
    );
    const perReplica = replies.map((r) => r.gflops);
    return { total: perReplica.reduce((a, b) => a + b, 0), perReplica };
  }

  async loadPlane(options: Parameters<PlanePool['loadPlane']>[0]): Promise<void> {
    await this.releasePlane();
    const { data, batchSize } = options;
    const base = {
      origin: options.origin,
      directions: options.directions,
      normalization: normalizationFor(data),
      batchSize,
      parameters: options.parameters ?? null,
    };
    const setups: [ReplicaClient, PlaneSetup][] =
      options.share === 'whole'
        ? this.clients.map((c) => [c, { ...base, data }])
        : batchAlignedShares({ count: data.count, batchSize, replicas: this.clients.length })
            .map(([start, end], k): [ReplicaClient, PlaneSetup] => [
              this.clients[k]!,
              { ...base, data: sliceDataset(data, start, end) },
            ])
            .filter(([, setup]) => setup.data.count > 0);
    this.planeClients = setups.map(([c]) => c);
    await Promise.all(setups.map(([c, setup]) => c.request({ type: 'plane', setup }, 'ok')));
  }

  async evaluatePoint(
    replica: number,
    alpha: number,
    beta: number,
  ): Promise<{ loss: number; accuracy: number }> {
    const client = this.planeClients[replica];
    if (!client) throw new Error(`no plane on replica ${replica}`);
    const r = await client.request({ type: 'point', alpha, beta }, 'point');
    return { loss: r.loss, accuracy: r.accuracy };
  }

  async hessianProduct(options: Parameters<PlanePool['hessianProduct']>[0]): Promise<Float64Array> {
    const replies = await Promise.all(
      this.planeClients.map((c) =>
        c.request(
          {
            type: 'product',
            alpha: options.alpha,
            beta: options.beta,
            v: options.v,
            hvp: options.hvp,
            finiteDifferenceStep: options.finiteDifferenceStep,
          },
          'product',
        ),
      ),
    );
    const sum = new Float64Array(options.v.length);
    for (const r of replies) for (let i = 0; i < sum.length; i++) sum[i]! += r.hv[i]!;
    return sum;
  }

  async lesionGroup(replica: number, lesions: Lesion[]): Promise<number[] | null> {
    const client = this.planeClients[replica];
    if (!client) throw new Error(`no plane on replica ${replica}`);
    return (await client.request({ type: 'lesions', lesions }, 'lesions')).correct;
  }

  async stopLesions(): Promise<void> {
    await Promise.all(this.planeClients.map((c) => c.request({ type: 'stopLesions' }, 'ok')));
  }

  async pathSample(replica: number, request: PathSampleRequest): Promise<number> {
    const client = this.planeClients[replica];
    if (!client) throw new Error(`no plane on replica ${replica}`);
    return (await client.request({ type: 'pathSample', request }, 'pathSample')).value;
  }

  async releasePlane(): Promise<void> {
    const holding = this.planeClients;
    this.planeClients = [];
    await Promise.all(holding.map((c) => c.request({ type: 'releasePlane' }, 'ok')));
  }

  /** Each replica's tfjs tensor count after dispose (every job leaves none behind). */
  replicaTensorsAfterDispose: number[] = [];

  /** Release every replica's tensors, then what the caller started (workers). */
  async dispose(): Promise<void> {
    try {
      const replies = await Promise.all(
        this.clients.map((c) => c.request({ type: 'dispose' }, 'disposed')),
      );
      this.replicaTensorsAfterDispose = replies.map((r) => r.numTensors);
    } finally {
      await this.onDispose();
    }
  }
}

function sumTotals(all: BatchTotals[]): BatchTotals {
  return all.reduce(
    (a, t) => ({
      lossSum: a.lossSum + t.lossSum,
      correct: a.correct + t.correct,
      count: a.count + t.count,
    }),
    { lossSum: 0, correct: 0, count: 0 },
  );
}

/** A Channel over a web-standard MessagePort (browser workers, Node's global MessageChannel). */
export function messagePortChannel<In, Out>(port: MessagePort): Channel<In, Out> {
  return {
    send: (message, transfer) => port.postMessage(message, transfer ?? []),
    onMessage: (handler) => {
      port.onmessage = (event: MessageEvent<In>) => handler(event.data);
    },
  };
}
