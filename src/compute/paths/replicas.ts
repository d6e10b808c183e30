/**
 * The path studies' work on a pool of replicas (worker threads or web
 * workers): θ* loaded whole on each, every replica running a lane that takes
 * work until there is none, and the plane released whatever happens.
 */
import type { Dataset } from '../data/dataset';
import type { Origin } from '../landscape/grid';
import type { PlanePool } from '../landscape/pool';

/**
 * Run `lane(i, failed)` on every replica of `pool` with θ* loaded whole (no
 * direction: the path studies evaluate the checkpoint itself). `failed()`
 * turns true once any lane has thrown, so the others stop taking work; that
 * first error is thrown once every lane has stopped. The plane's release
 * throws only when no lane failed (a pool whose worker died may not answer;
 * its lane's error is the one to report).
 */
export async function onEveryReplica(options: {
  pool: PlanePool;
  origin: Origin;
  data: Dataset;
  batchSize: number;
  lane: (index: number, failed: () => boolean) => Promise<void>;
}): Promise<void> {
  const { pool } = options;
  let failure: { error: unknown } | null = null;
  const failed = () => failure !== null;
  try {
    await pool.loadPlane({
      origin: options.origin,
      directions: { x: {}, y: null },
      data: options.data,
      batchSize: options.batchSize,
      share: 'whole',
    });
    await Promise.all(
      Array.from({ length: pool.replicas }, (_, i) =>
        options.lane(i, failed).catch((error: unknown) => {
          failure ??= { error };
        }),
      ),
    );
    if (failure !== null) throw (failure as { error: unknown }).error;
  } finally {
    await pool.releasePlane().catch((e: unknown) => {
      if (failure === null) throw e;
    });
  }
}
