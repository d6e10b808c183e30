/**
 * When a figure's heavy parts (three.js, a worker) may start, after
 * distill's d-figure: one IntersectionObserver with a generous margin notices
 * figures before they scroll in and queues them; the queue starts at most one
 * figure per animation frame, so a page with several figures never stalls on
 * all of them at once; a second observer reports when a started figure is
 * on or off screen.
 *
 *   observed ──(within MARGIN of the viewport)──▶ queued ──(its animation frame)──▶ started
 *                                                                                   │
 *                                                     onscreen ◀──(enters / leaves)──▶ offscreen
 *
 * Islands hydrate `client:visible`, so by the time one calls this it is near
 * the viewport already; the queue then only spaces out figures that arrive
 * together (an embed, a short page, a jump to an anchor).
 */

/** Figures start this far before they scroll into view. */
const MARGIN = '400px';

interface Entry {
  start: () => void;
  visibility?: ((onscreen: boolean) => void) | undefined;
  started: boolean;
}

const entries = new Map<Element, Entry>();
const queue: Element[] = [];
let frame = 0;
let nearObserver: IntersectionObserver | null = null;
let screenObserver: IntersectionObserver | null = null;

function pump(): void {
  frame = 0;
  const element = queue.shift();
  if (!element) return;
  const entry = entries.get(element);
  if (entry && !entry.started) {
    entry.started = true;
    entry.start();
    if (entry.visibility) screenObserver?.observe(element);
  }
  if (queue.length > 0) frame = requestAnimationFrame(pump);
}

function observers(): { near: IntersectionObserver; screen: IntersectionObserver } {
  nearObserver ??= new IntersectionObserver(
    (records) => {
      for (const record of records) {
        if (!record.isIntersecting) continue;
        nearObserver?.unobserve(record.target);
        queue.push(record.target);
      }
      if (queue.length > 0 && frame === 0) frame = requestAnimationFrame(pump);
    },
    { rootMargin: MARGIN },
  );
  screenObserver ??= new IntersectionObserver((records) => {
    for (const record of records) entries.get(record.target)?.visibility?.(record.isIntersecting);
  });
  return { near: nearObserver, screen: screenObserver };
}

/**
 * Call `start` once, in its own animation frame, when `element` comes within
 * the margin of the viewport; then `visibility(true|false)` as it enters and
 * leaves the screen. Returns a function that forgets the figure.
 */
export function scheduleFigure(
  element: Element,
  start: () => void,
  visibility?: (onscreen: boolean) => void,
): () => void {
  const { near, screen } = observers();
  entries.set(element, { start, visibility, started: false });
  near.observe(element);
  return () => {
    entries.delete(element);
    near.unobserve(element);
    screen.unobserve(element);
    const at = queue.indexOf(element);
    if (at >= 0) queue.splice(at, 1);
  };
}
