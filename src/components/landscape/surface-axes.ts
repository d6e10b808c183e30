/**
 * The α, β and loss axes of the 3-D view: tick marks and the loss axis as
 * lines, tick values and axis names as sprites textured with text drawn on a
 * 2-D canvas. Sprites belong to the WebGL scene, so they are drawn wherever
 * the scene is: on screen, in the PNG export and in the print snapshot (a
 * CSS2DRenderer's labels are DOM elements, in neither of the last two).
 *
 * Labels keep their size on screen whatever the zoom (sizeAttenuation off):
 * TICK_PX and TITLE_PX CSS pixels at the view's size, and the same share of
 * the picture in an export at 2× or 4×. As matplotlib's 3-D axes do, the
 * axes move to the edges of the box that face the camera each time it turns:
 * α along the front edge, β along the side edge, loss up a side corner.
 */
import type * as Three from 'three';
import { formatNumber, type LossScale } from '../../compute/landscape/contours';
import { logTicks, niceTicks } from '../../compute/ticks';

type ThreeModule = typeof Three;

/** Tick labels and axis names, in CSS pixels of text height on screen. */
const TICK_PX = 14;
const TITLE_PX = 16;
/** Font size of the text textures: large, so a 4× export is still sharp. */
const TEXTURE_PX = 72;
/** Length of a tick mark and the gap from it to its label, in world units (α and β span 2). */
const TICK_LENGTH = 0.06;
const TITLE_OFFSET = 0.4;

/** Values at which each axis is ticked and labelled. */
export interface SurfaceAxisTicks {
  alpha: number[];
  beta: number[];
  loss: number[];
}

/**
 * The ticks of the three axes: about four round values along α and β (the
 * same rule as the contour map's axes), and loss ticks by the colour bar's
 * rules (1, 2 and 5 × 10^k on a log scale, or its powers of ten alone).
 */
export function surfaceAxisTicks(
  xs: readonly number[],
  ys: readonly number[],
  scale: LossScale,
): SurfaceAxisTicks {
  const range = (v: readonly number[]): [number, number] => [v[0] ?? -1, v[v.length - 1] ?? 1];
  // Fewer along the loss axis than the colour bar has: it is about 70 px tall in a narrow column.
  let loss = scale.log ? logTicks(scale.lo, scale.hi, 4) : niceTicks(scale.lo, scale.hi, 3);
  // A log range inside one decade may hold no 1, 2 or 5: label round values within it instead.
  if (loss.length < 2) loss = niceTicks(scale.lo, scale.hi, 3);
  return {
    alpha: niceTicks(...range(xs), 4),
    beta: niceTicks(...range(ys), 4),
    loss,
  };
}

/** The axes in words, for the canvas's accessible description. */
export function describeSurfaceAxes(ticks: SurfaceAxisTicks, scale: LossScale): string {
  const list = (v: number[]) => v.map(formatNumber).join(', ');
  return (
    `Axes: α (ticks ${list(ticks.alpha)}), β (ticks ${list(ticks.beta)}), ` +
    `and loss upwards${scale.log ? ' on a log scale' : ''} (ticks ${list(ticks.loss)}).`
  );
}

interface Label {
  sprite: Three.Sprite;
  text: string;
  /** Text height on screen, in CSS pixels. */
  px: number;
  weight: number;
  /** Width / height of its texture. */
  aspect: number;
  /** Where it is anchored, given the box's corner facing the camera (sx, sz) and the loss corner. */
  anchor: (frame: AxisFrame) => Three.Vector3;
  /**
   * Which way the text extends from its anchor on screen: away from the
   * box's centre at its height ('away'), straight sideways from it ('side',
   * for the loss axis, whose labels would otherwise lean into the corner's
   * α or β label), or up ('up').
   */
  extend: 'away' | 'side' | 'up';
  /**
   * Which label stays where two would overlap on screen (lower first): the
   * axis names, then the loss ticks, then α's, then β's. At the box's
   * corners the end ticks of two axes meet (α's −1 beside the lowest loss
   * tick, α's 1 beside β's −1).
   */
  rank: number;
}

/** A label's box on screen, in CSS pixels, y downwards. */
export interface ScreenBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * Which boxes to show, taken in the order given: each one that overlaps
 * none already shown (`gap` pixels apart) is shown, any other hidden.
 */
export function keepApart(boxes: readonly ScreenBox[], gap = 3): boolean[] {
  const shown: ScreenBox[] = [];
  return boxes.map((b) => {
    const clear = shown.every(
      (s) =>
        b.left >= s.right + gap ||
        s.left >= b.right + gap ||
        b.top >= s.bottom + gap ||
        s.top >= b.bottom + gap,
    );
    if (clear) shown.push(b);
    return clear;
  });
}

/** The box's edges that carry the axes, for the camera's current side. */
interface AxisFrame {
  /** z of the edge along which α is ticked (the edge nearer the camera). */
  alphaZ: number;
  /** x of the edge along which β is ticked. */
  betaX: number;
  /** The corner the loss axis stands on. */
  lossX: number;
  lossZ: number;
}

export class SurfaceAxes {
  /** Everything the axes draw; add it to the scene. */
  readonly group: Three.Group;
  private readonly THREE: ThreeModule;
  private readonly marks: Three.LineSegments;
  private labels: Label[] = [];
  private ink = '#000000';
  private font = 'system-ui, sans-serif';
  /** World units per CSS pixel at depth 1, from the view's height and field of view. */
  private pixelScale = 0.002;
  /** The view's height in CSS pixels (labels' overlaps are judged there). */
  private heightPx = 300;
  private toX: (alpha: number) => number = (a) => a;
  private toZ: (beta: number) => number = (b) => -b;
  private toY: (loss: number) => number = () => 0;
  /** Height of the top of the loss scale. */
  private top = 1;
  private ticks: SurfaceAxisTicks = { alpha: [], beta: [], loss: [] };

  constructor(THREE: ThreeModule) {
    this.THREE = THREE;
    this.group = new THREE.Group();
    this.marks = new THREE.LineSegments(
      new THREE.BufferGeometry(),
      new THREE.LineBasicMaterial({ color: 0x000000 }),
    );
    this.group.add(this.marks);
  }

  /**
   * New ticks for a surface and scale: `toX`, `toZ` map α and β to world
   * x and z, `height` a loss to world y.
   */
  setAxes(options: {
    ticks: SurfaceAxisTicks;
    toX: (alpha: number) => number;
    toZ: (beta: number) => number;
    height: (loss: number) => number;
    scale: LossScale;
  }): void {
    const { ticks, toX, toZ, height, scale } = options;
    this.ticks = ticks;
    this.toX = toX;
    this.toZ = toZ;
    this.toY = (loss) => height(Math.min(scale.hi, Math.max(scale.lo, loss)));
    this.top = height(scale.hi);
    this.disposeLabels();
    const V = this.THREE.Vector3;
    const out = TICK_LENGTH * 1.6;
    this.addLabel('α', TITLE_PX, 600, 'away', 0, (f) => new V(0, 0, f.alphaZ * (1 + TITLE_OFFSET)));
    this.addLabel('β', TITLE_PX, 600, 'away', 0, (f) => new V(f.betaX * (1 + TITLE_OFFSET), 0, 0));
    this.addLabel(
      scale.log ? 'loss (log)' : 'loss',
      TITLE_PX,
      600,
      'up',
      0,
      (f) => new V(f.lossX, this.top + 0.04, f.lossZ),
    );
    for (const l of ticks.loss) {
      const y = this.toY(l);
      this.addLabel(formatNumber(l), TICK_PX, 400, 'side', 1, (f) => cornerOut(V, f, y, out));
    }
    for (const a of ticks.alpha) {
      this.addLabel(
        formatNumber(a),
        TICK_PX,
        400,
        'away',
        2,
        (f) => new V(toX(a), 0, f.alphaZ * (1 + out)),
      );
    }
    for (const b of ticks.beta) {
      this.addLabel(
        formatNumber(b),
        TICK_PX,
        400,
        'away',
        3,
        (f) => new V(f.betaX * (1 + out), 0, toZ(b)),
      );
    }
  }

  private addLabel(
    text: string,
    px: number,
    weight: number,
    extend: Label['extend'],
    rank: number,
    anchor: (frame: AxisFrame) => Three.Vector3,
  ): void {
    const { THREE } = this;
    const texture = new THREE.CanvasTexture(document.createElement('canvas'));
    texture.colorSpace = THREE.SRGBColorSpace;
    const material = new THREE.SpriteMaterial({
      map: texture,
      sizeAttenuation: false,
      // Drawn over the surface, so a label is never hidden behind a ridge.
      depthTest: false,
      depthWrite: false,
      transparent: true,
    });
    const sprite = new THREE.Sprite(material);
    sprite.renderOrder = 10;
    const label: Label = {
      sprite,
      text,
      px,
      weight,
      aspect: 1,
      anchor,
      extend,
      rank,
    };
    this.drawLabel(label);
    this.labels.push(label);
    this.group.add(sprite);
  }

  /** Paint a label's text into its texture in the current ink and font. */
  private drawLabel(label: Label): void {
    const material = label.sprite.material;
    const texture = material.map as Three.CanvasTexture;
    const canvas = texture.image as HTMLCanvasElement;
    const context = canvas.getContext('2d');
    if (!context) return;
    const font = `${label.weight} ${TEXTURE_PX}px ${this.font}`;
    context.font = font;
    const pad = Math.round(TEXTURE_PX * 0.15);
    canvas.width = Math.ceil(context.measureText(label.text).width) + 2 * pad;
    canvas.height = Math.ceil(TEXTURE_PX * 1.3);
    // Resizing the canvas reset its state.
    context.font = font;
    context.fillStyle = this.ink;
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    context.fillText(label.text, canvas.width / 2, canvas.height / 2);
    label.aspect = canvas.width / canvas.height;
    // A resized canvas needs a new GPU texture, not an update of the old one's storage.
    texture.dispose();
    texture.needsUpdate = true;
    this.sizeLabel(label);
  }

  private sizeLabel(label: Label): void {
    const h = label.px * 1.3 * this.pixelScale;
    label.sprite.scale.set(h * label.aspect, h, 1);
  }

  /** The text colour (CSS) and font family; repaints the labels when either changed. */
  setInk(ink: string, font: string): void {
    if (ink === this.ink && font === this.font) return;
    this.ink = ink;
    this.font = font;
    (this.marks.material as Three.LineBasicMaterial).color.setStyle(ink, this.THREE.SRGBColorSpace);
    for (const label of this.labels) this.drawLabel(label);
  }

  get currentInk(): string {
    return this.ink;
  }

  /**
   * Size the labels for a view `heightPx` CSS pixels tall with vertical field
   * of view `fovDeg`. A sprite without size attenuation is `scale` tall at
   * depth 1, which projects to scale / (2 tan(fov / 2)) of the view's height.
   */
  setViewHeight(heightPx: number, fovDeg: number): void {
    this.heightPx = Math.max(1, heightPx);
    this.pixelScale = (2 * Math.tan((fovDeg * Math.PI) / 360)) / this.heightPx;
    for (const label of this.labels) this.sizeLabel(label);
  }

  /** Put the axes on the edges facing `camera`, each label on the side away from the box. */
  place(camera: Three.PerspectiveCamera): void {
    const { THREE } = this;
    const sx = camera.position.x >= 0 ? 1 : -1;
    const sz = camera.position.z >= 0 ? 1 : -1;
    // The loss axis stands at the far end of the edge that faces the camera more squarely.
    const frontIsZ = Math.abs(camera.position.z) >= Math.abs(camera.position.x);
    const frame: AxisFrame = {
      alphaZ: sz,
      betaX: sx,
      lossX: frontIsZ ? -sx : sx,
      lossZ: frontIsZ ? sz : -sz,
    };
    const p: number[] = [];
    const t = TICK_LENGTH;
    for (const a of this.ticks.alpha) {
      const x = this.toX(a);
      p.push(x, 0, frame.alphaZ, x, 0, frame.alphaZ * (1 + t));
    }
    for (const b of this.ticks.beta) {
      const z = this.toZ(b);
      p.push(frame.betaX, 0, z, frame.betaX * (1 + t), 0, z);
    }
    if (this.ticks.loss.length > 0) {
      p.push(frame.lossX, 0, frame.lossZ, frame.lossX, this.top, frame.lossZ);
      for (const l of this.ticks.loss) {
        const y = this.toY(l);
        const end = cornerOut(THREE.Vector3, frame, y, t);
        p.push(frame.lossX, y, frame.lossZ, end.x, end.y, end.z);
      }
    }
    const geometry = this.marks.geometry;
    geometry.setAttribute('position', new THREE.Float32BufferAttribute(p, 3));
    geometry.computeBoundingSphere();

    camera.updateMatrixWorld();
    const aspect = camera.aspect;
    const boxes: ScreenBox[] = [];
    for (const label of this.labels) {
      const anchor = label.anchor(frame);
      label.sprite.position.copy(anchor);
      // Anchor the text on its side nearest the box: it extends away from the box on screen.
      const a = anchor.clone().project(camera);
      const c = new THREE.Vector3(0, anchor.y, 0).project(camera);
      let dx = (a.x - c.x) * aspect;
      let dy = label.extend === 'side' ? 0 : a.y - c.y;
      if (label.extend === 'up') [dx, dy] = [0, 1];
      const n = Math.max(Math.abs(dx), Math.abs(dy)) || 1;
      label.sprite.center.set(0.5 - (0.5 * dx) / n, 0.5 - (0.5 * dy) / n);
      boxes.push(this.screenBox(label, a, aspect));
    }
    // The labels are in rank order (setAxes adds them so), so the first of two that overlap stays.
    keepApart(boxes).forEach((shown, i) => {
      this.labels[i]!.sprite.visible = shown;
    });
  }

  /**
   * Where a label's text lies on screen, in CSS pixels: its sprite is
   * px × 1.3 tall with `center` at the projected anchor `ndc`, in a view
   * `aspect` times as wide as it is tall. The texture's margins are left out:
   * 0.15 px at each side, and about 0.28 px above and below the digits (the
   * texture is 1.3 px tall; digits are about 0.72 px).
   */
  private screenBox(label: Label, ndc: Three.Vector3, aspect: number): ScreenBox {
    const H = this.heightPx;
    const W = H * aspect;
    const x = ((ndc.x + 1) / 2) * W;
    const y = ((1 - ndc.y) / 2) * H;
    const h = label.px * 1.3;
    const w = h * label.aspect;
    const { x: cx, y: cy } = label.sprite.center;
    const side = label.px * 0.15;
    const above = label.px * 0.28;
    // center.y counts up from the sprite's bottom; screen y counts down.
    const left = x - cx * w;
    const top = y - (1 - cy) * h;
    return { left: left + side, top: top + above, right: left + w - side, bottom: top + h - above };
  }

  private disposeLabels(): void {
    for (const label of this.labels) {
      this.group.remove(label.sprite);
      label.sprite.material.map?.dispose();
      label.sprite.material.dispose();
    }
    this.labels = [];
  }

  dispose(): void {
    this.disposeLabels();
    this.marks.geometry.dispose();
    (this.marks.material as Three.Material).dispose();
  }
}

/** A point `out` beyond the loss axis's corner at height y, diagonally away from the box. */
function cornerOut(
  V: typeof Three.Vector3,
  frame: AxisFrame,
  y: number,
  out: number,
): Three.Vector3 {
  return new V(frame.lossX * (1 + out), y, frame.lossZ * (1 + out));
}
