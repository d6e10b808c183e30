/**
 * The 3-D loss surface: one grid mesh from a Float32Array of vertices and an
 * index (three.js's webgl_buffergeometry_indexed pattern), viridis vertex
 * colours on the shared loss scale, contour lines lifted onto the mesh, α, β
 * and loss axes with ticks (surface-axes.ts), orbit and zoom by mouse, touch
 * and keyboard, and a cursor on a grid point: the point under the pointer,
 * or moved by the arrow keys, shown as a marker and given to onReadout. A
 * cursor set from outside (the other panel's) is drawn too, so linked views
 * mark the same α, β. three is imported when the first view is created,
 * never with the page.
 *
 * Lifecycle:
 *
 *   create() ──▶ setData() ──▶ [render on demand: data, camera, resize] ──▶ dispose()
 *                    ▲                       │
 *                    └── new data / scale ───┘
 *
 * Nothing animates on its own: a frame is drawn only when something changed
 * (OrbitControls' change event, new data, a resize), at most once per frame.
 *
 * World axes: α along +X and β along −Z, both scaled to [−1, 1]; height along
 * +Y, 0 at the bottom of the loss scale and HEIGHT at its top (values beyond
 * the scale clip, as colours do).
 */
import type * as Three from 'three';
import type { OrbitControls as OrbitControlsType } from 'three/addons/controls/OrbitControls.js';
import {
  contourLevels,
  isolineSegments,
  scaleUnit,
  transformLoss,
  viridisRgb,
  type LossScale,
} from '../../compute/landscape/contours';
import type { Surface } from '../../compute/landscape/surface';
import { nearestIndex, type Readout } from './explorer';
import { describeSurfaceAxes, SurfaceAxes, surfaceAxisTicks } from './surface-axes';

type ThreeModule = typeof Three;

/** Height of the top of the loss scale, in world units (α and β span 2). */
const HEIGHT = 1;

/** What the view draws. */
export interface SurfaceData {
  surface: Surface;
  scale: LossScale;
  /** Number of contour lines. */
  levels: number;
}

export type { Readout };

/** Camera position around the surface's centre: angles in degrees. */
export interface CameraState {
  /** Angle around the vertical axis, from +Z (the −β side) towards +X (+α). */
  azimuth: number;
  /** Angle above the horizontal plane. */
  elevation: number;
  /** Distance from the target. */
  distance: number;
}

export const DEFAULT_CAMERA: CameraState = { azimuth: 35, elevation: 30, distance: 5.6 };

export interface SurfaceViewOptions {
  /** Element the canvas goes into; its width sets the canvas size. */
  container: HTMLElement;
  /** Accessible name of the canvas, e.g. "ResNet-56 with skips, 3-D loss surface". */
  label: string;
  /** Called with the grid point under the pointer or the keyboard's cursor, or null when it leaves. */
  onReadout?: (readout: Readout | null) => void;
  /** Called when the reader moves the camera (not when setCamera moves it). */
  onCameraChange?: (camera: CameraState) => void;
}

let threeModules: Promise<{ THREE: ThreeModule; OrbitControls: typeof OrbitControlsType }> | null =
  null;

/** Numbers the views' hidden axis descriptions, for aria-describedby. */
let nextId = 0;

/** three and OrbitControls, imported once per page. */
function loadThree(): Promise<{ THREE: ThreeModule; OrbitControls: typeof OrbitControlsType }> {
  threeModules ??= Promise.all([
    import('three'),
    import('three/addons/controls/OrbitControls.js'),
  ]).then(([THREE, controls]) => ({ THREE, OrbitControls: controls.OrbitControls }));
  return threeModules;
}

/** Target of the camera: the middle of the scale's height over the plane's centre. */
const TARGET_Y = HEIGHT * 0.3;

export class SurfaceView {
  readonly canvas: HTMLCanvasElement;
  private readonly THREE: ThreeModule;
  private readonly renderer: Three.WebGLRenderer;
  private readonly scene: Three.Scene;
  private readonly camera: Three.PerspectiveCamera;
  private readonly controls: OrbitControlsType;
  private readonly raycaster: Three.Raycaster;
  private readonly resizeObserver: ResizeObserver;
  private readonly options: SurfaceViewOptions;
  private readonly frame: Three.LineSegments;
  private readonly axes: SurfaceAxes;
  private readonly axesText: HTMLParagraphElement;
  private readonly marker: Three.Group;
  /** The grid point marked, as α and β (kept across new data, which may have another grid). */
  private cursor: { alpha: number; beta: number } | null = null;
  private mesh: Three.Mesh | null = null;
  private lines: Three.LineSegments | null = null;
  private data: SurfaceData | null = null;
  private pendingFrame = 0;
  private pendingPointer: { x: number; y: number } | null = null;
  private silent = false;
  private disposed = false;
  private readonly listeners: [
    EventTarget,
    string,
    EventListener,
    AddEventListenerOptions | undefined,
  ][] = [];

  /** Import three (once) and build a view in `options.container`. */
  static async create(options: SurfaceViewOptions): Promise<SurfaceView> {
    const { THREE, OrbitControls } = await loadThree();
    return new SurfaceView(THREE, OrbitControls, options);
  }

  private constructor(
    THREE: ThreeModule,
    OrbitControls: typeof OrbitControlsType,
    options: SurfaceViewOptions,
  ) {
    this.THREE = THREE;
    this.options = options;
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      `${options.label}. Arrow keys move a cursor over the grid and the readout below gives the loss there; drag, or Shift and the arrow keys, to turn it; plus and minus zoom; 0 resets.`,
    );
    this.canvas.className = 'surface-canvas';
    // The axes' ticks in words: the labels themselves are pixels in the WebGL picture.
    this.axesText = document.createElement('p');
    this.axesText.id = `surface-axes-${(nextId += 1)}`;
    this.axesText.className = 'surface-axes-text';
    Object.assign(this.axesText.style, {
      position: 'absolute',
      width: '1px',
      height: '1px',
      overflow: 'hidden',
      clipPath: 'inset(50%)',
      whiteSpace: 'nowrap',
      margin: '0',
    });
    this.canvas.setAttribute('aria-describedby', this.axesText.id);
    options.container.append(this.canvas, this.axesText);

    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: true, alpha: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(35, 4 / 3, 0.05, 50);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x9a9a9a, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.1);
    sun.position.set(1.5, 3, 2);
    this.scene.add(sun);
    this.frame = this.makeFrame();
    this.scene.add(this.frame);
    this.axes = new SurfaceAxes(THREE);
    this.scene.add(this.axes.group);
    this.marker = this.makeMarker();
    this.scene.add(this.marker);

    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.target.set(0, TARGET_Y, 0);
    this.controls.enablePan = false;
    this.controls.minDistance = 1.2;
    this.controls.maxDistance = 9;
    this.controls.maxPolarAngle = Math.PI * 0.5 - 0.02;
    // One finger sideways orbits; vertical swipes still scroll the page; two fingers zoom.
    this.canvas.style.touchAction = 'pan-y';
    this.controls.addEventListener('change', () => {
      this.requestRender();
      if (!this.silent) this.options.onCameraChange?.(this.getCamera());
    });
    this.setCamera(DEFAULT_CAMERA);

    this.raycaster = new THREE.Raycaster();
    this.listen(this.canvas, 'pointermove', (event) => {
      const e = event as PointerEvent;
      const rect = this.canvas.getBoundingClientRect();
      this.pendingPointer = {
        x: ((e.clientX - rect.left) / rect.width) * 2 - 1,
        y: -((e.clientY - rect.top) / rect.height) * 2 + 1,
      };
      this.requestRender();
    });
    this.listen(this.canvas, 'pointerleave', () => {
      this.pendingPointer = null;
      this.setCursor(null);
      this.options.onReadout?.(null);
    });
    this.listen(this.canvas, 'keydown', (event) => this.onKey(event as KeyboardEvent));
    // The labels' ink follows the page's text colour, which changes with the colour scheme.
    this.listen(matchMedia('(prefers-color-scheme: dark)'), 'change', () => this.requestRender());
    // The wheel scrolls the page unless Ctrl (or a trackpad pinch, which sets ctrlKey) asks to zoom.
    this.listen(
      options.container,
      'wheel',
      (event) => {
        const e = event as WheelEvent;
        if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
      },
      { capture: true },
    );

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(options.container);
    this.resize();
  }

  private listen(
    target: EventTarget,
    type: string,
    handler: EventListener,
    options?: AddEventListenerOptions,
  ): void {
    target.addEventListener(type, handler, options);
    this.listeners.push([target, type, handler, options]);
  }

  /** Outline of the α-β square at the bottom of the scale, and θ* as a vertical tick at the origin. */
  private makeFrame(): Three.LineSegments {
    const { THREE } = this;
    const p = [-1, 0, -1, 1, 0, -1, 1, 0, -1, 1, 0, 1, 1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, -1];
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.Float32BufferAttribute(p, 3));
    const material = new THREE.LineBasicMaterial({ color: 0x888888 });
    return new THREE.LineSegments(geometry, material);
  }

  /**
   * The cursor's marker: a dot on the surface and a thin line down to the
   * plane, so its α, β read against the axes. Drawn over the mesh.
   */
  private makeMarker(): Three.Group {
    const { THREE } = this;
    const dot = document.createElement('canvas');
    dot.width = dot.height = 32;
    const context = dot.getContext('2d');
    if (context) {
      context.beginPath();
      context.arc(16, 16, 11, 0, 2 * Math.PI);
      context.fillStyle = '#ffffff';
      context.fill();
      context.lineWidth = 5;
      context.strokeStyle = '#111111';
      context.stroke();
    }
    const texture = new THREE.CanvasTexture(dot);
    texture.colorSpace = THREE.SRGBColorSpace;
    const point = new THREE.Points(
      new THREE.BufferGeometry().setAttribute(
        'position',
        new THREE.Float32BufferAttribute([0, 0, 0], 3),
      ),
      new THREE.PointsMaterial({
        map: texture,
        size: 14,
        sizeAttenuation: false,
        transparent: true,
        alphaTest: 0.5,
        depthTest: false,
      }),
    );
    point.renderOrder = 11;
    const stem = new THREE.Line(
      new THREE.BufferGeometry().setAttribute(
        'position',
        new THREE.Float32BufferAttribute([0, 0, 0, 0, 1, 0], 3),
      ),
      new THREE.LineBasicMaterial({ color: 0xffffff, depthTest: false }),
    );
    stem.renderOrder = 11;
    const group = new THREE.Group();
    group.add(stem, point);
    group.visible = false;
    return group;
  }

  /** Mark the grid point nearest (α, β), or none; does not call onReadout. */
  setCursor(cursor: { alpha: number; beta: number } | null): void {
    const same =
      cursor === this.cursor ||
      (cursor !== null &&
        this.cursor !== null &&
        cursor.alpha === this.cursor.alpha &&
        cursor.beta === this.cursor.beta);
    this.cursor = cursor;
    if (!same) this.placeMarker();
  }

  private placeMarker(): void {
    const data = this.data;
    if (!this.cursor || !data) {
      this.marker.visible = false;
      this.requestRender();
      return;
    }
    const { surface, scale } = data;
    const i = nearestIndex(surface.xs, this.cursor.alpha);
    const j = nearestIndex(surface.ys, this.cursor.beta);
    const loss = surface.loss[j * surface.xs.length + i];
    const y =
      loss !== null && loss !== undefined && Number.isFinite(loss)
        ? scaleUnit(scale, loss) * HEIGHT
        : 0;
    this.marker.position.set(
      axisMap(surface.xs, 1)(surface.xs[i] as number),
      0,
      axisMap(surface.ys, -1)(surface.ys[j] as number),
    );
    const [stem, point] = this.marker.children as [Three.Line, Three.Points];
    stem.scale.y = Math.max(y, 1e-3);
    point.position.y = y;
    this.marker.visible = true;
    this.requestRender();
  }

  /** The readout of grid point (i, j) of the current surface. */
  private readoutAt(i: number, j: number): Readout | null {
    if (!this.data) return null;
    const { surface } = this.data;
    const k = j * surface.xs.length + i;
    return {
      alpha: surface.xs[i] as number,
      beta: surface.ys[j] as number,
      loss: surface.loss[k] ?? null,
      accuracy: surface.accuracy[k] ?? null,
      computed: surface.mask[k] === 1,
    };
  }

  /** Arrow keys: the cursor one grid step along α (left, right) or β (down, up). */
  private moveCursor(di: number, dj: number): void {
    if (!this.data) return;
    const { xs, ys } = this.data.surface;
    // From where the cursor is (put there by either panel), or from θ* at the centre.
    const at = this.cursor ?? { alpha: 0, beta: 0 };
    const i = Math.min(xs.length - 1, Math.max(0, nearestIndex(xs, at.alpha) + di));
    const j = Math.min(ys.length - 1, Math.max(0, nearestIndex(ys, at.beta) + dj));
    this.setCursor({ alpha: xs[i] as number, beta: ys[j] as number });
    this.options.onReadout?.(this.readoutAt(i, j));
  }

  private onKey(event: KeyboardEvent): void {
    const cursorMoves: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, 1],
      ArrowDown: [0, -1],
    };
    const move = cursorMoves[event.key];
    if (move && !event.shiftKey) {
      event.preventDefault();
      this.moveCursor(...move);
      return;
    }
    const step = (5 * Math.PI) / 180;
    const c = this.controls;
    switch (event.key) {
      case 'ArrowLeft':
        c.rotateLeft(step);
        break;
      case 'ArrowRight':
        c.rotateLeft(-step);
        break;
      case 'ArrowUp':
        c.rotateUp(step);
        break;
      case 'ArrowDown':
        c.rotateUp(-step);
        break;
      case '+':
      case '=':
        c.dollyIn(1.1);
        break;
      case '-':
      case '_':
        c.dollyOut(1.1);
        break;
      case '0':
        this.setCamera(DEFAULT_CAMERA);
        this.options.onCameraChange?.(this.getCamera());
        event.preventDefault();
        return;
      default:
        return;
    }
    event.preventDefault();
    c.update();
  }

  /** Show a surface on a loss scale; rebuilds the mesh and contour lines. */
  setData(data: SurfaceData): void {
    this.data = data;
    this.disposeSurface();
    const { THREE } = this;
    const { surface, scale } = data;
    const { xs, ys } = surface;
    const nx = xs.length;
    const ny = ys.length;
    const toX = axisMap(xs, 1);
    const toZ = axisMap(ys, -1);
    const height = (loss: number): number => scaleUnit(scale, loss) * HEIGHT;

    // One vertex per grid point; points without a finite loss sit at 0 and belong to no triangle.
    const positions = new Float32Array(3 * nx * ny);
    const colours = new Float32Array(3 * nx * ny);
    const colour = new THREE.Color();
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const k = j * nx + i;
        const loss = surface.loss[k];
        const finite = loss !== null && loss !== undefined && Number.isFinite(loss);
        positions[3 * k] = toX(xs[i] as number);
        positions[3 * k + 1] = finite ? height(loss) : 0;
        positions[3 * k + 2] = toZ(ys[j] as number);
        const [r, g, b] = viridisRgb(finite ? scaleUnit(scale, loss) : 0);
        // Viridis is defined in sRGB; three works in linear light and converts on output.
        colour.setRGB(r / 255, g / 255, b / 255, THREE.SRGBColorSpace);
        colours[3 * k] = colour.r;
        colours[3 * k + 1] = colour.g;
        colours[3 * k + 2] = colour.b;
      }
    }
    const index: number[] = [];
    const finiteAt = (k: number): boolean => {
      const v = surface.loss[k];
      return v !== null && v !== undefined && Number.isFinite(v);
    };
    for (let j = 0; j + 1 < ny; j++) {
      for (let i = 0; i + 1 < nx; i++) {
        const a = j * nx + i;
        const b = a + 1;
        const c = a + nx + 1;
        const d = a + nx;
        if (finiteAt(a) && finiteAt(b) && finiteAt(c) && finiteAt(d)) index.push(a, b, c, a, c, d);
      }
    }
    const geometry = new THREE.BufferGeometry();
    geometry.setIndex(index);
    geometry.setAttribute('position', new THREE.BufferAttribute(positions, 3));
    geometry.setAttribute('color', new THREE.BufferAttribute(colours, 3));
    geometry.computeVertexNormals();
    const material = new THREE.MeshLambertMaterial({
      vertexColors: true,
      side: THREE.DoubleSide,
      polygonOffset: true,
      polygonOffsetFactor: 1,
      polygonOffsetUnits: 1,
    });
    this.mesh = new THREE.Mesh(geometry, material);
    this.scene.add(this.mesh);

    // Contour lines: isolines of T(loss) at the scale's levels, lifted to their height.
    const field = {
      xs,
      ys,
      values: Float64Array.from(surface.loss, (v) =>
        v === null || !Number.isFinite(v) ? Number.NaN : transformLoss(scale, v),
      ),
    };
    const linePositions: number[] = [];
    for (const level of contourLevels(scale, data.levels)) {
      const y = height(level) + 0.004;
      const segments = isolineSegments(field, transformLoss(scale, level));
      for (let q = 0; q < segments.length; q += 2) {
        linePositions.push(toX(segments[q] as number), y, toZ(segments[q + 1] as number));
      }
    }
    const lineGeometry = new THREE.BufferGeometry();
    lineGeometry.setAttribute('position', new THREE.Float32BufferAttribute(linePositions, 3));
    this.lines = new THREE.LineSegments(
      lineGeometry,
      new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.55 }),
    );
    this.scene.add(this.lines);

    const ticks = surfaceAxisTicks(xs, ys, scale);
    this.axes.setAxes({ ticks, toX, toZ, height, scale });
    this.axesText.textContent = describeSurfaceAxes(ticks, scale);
    this.placeMarker();
    this.requestRender();
  }

  /** Move the camera; by default without telling onCameraChange (for linked views). */
  setCamera(state: CameraState, silent = true): void {
    const az = (state.azimuth * Math.PI) / 180;
    const el = (state.elevation * Math.PI) / 180;
    const r = state.distance;
    this.camera.position.set(
      r * Math.cos(el) * Math.sin(az),
      TARGET_Y + r * Math.sin(el),
      r * Math.cos(el) * Math.cos(az),
    );
    this.silent = silent;
    this.controls.update();
    this.silent = false;
    this.requestRender();
  }

  getCamera(): CameraState {
    const offset = this.camera.position.clone().sub(this.controls.target);
    const distance = offset.length();
    return {
      azimuth: (Math.atan2(offset.x, offset.z) * 180) / Math.PI,
      elevation: (Math.asin(Math.min(1, Math.max(-1, offset.y / distance))) * 180) / Math.PI,
      distance,
    };
  }

  private resize(): void {
    const width = Math.max(1, this.options.container.clientWidth);
    const height = Math.round(width * 0.8);
    this.renderer.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.axes.setViewHeight(height, this.camera.fov);
    this.requestRender();
  }

  /** Draw on the next animation frame (once, however often it is asked). */
  requestRender(): void {
    if (this.pendingFrame !== 0 || this.disposed) return;
    this.pendingFrame = requestAnimationFrame(() => {
      this.pendingFrame = 0;
      const style = getComputedStyle(this.options.container);
      this.axes.setInk(style.color, style.fontFamily);
      this.axes.place(this.camera);
      this.renderer.render(this.scene, this.camera);
      this.pick();
    });
  }

  /** Readout of the grid point nearest where the pointer meets the mesh. */
  private pick(): void {
    const pointer = this.pendingPointer;
    if (!pointer || !this.mesh || !this.data) return;
    this.pendingPointer = null;
    this.raycaster.setFromCamera(new this.THREE.Vector2(pointer.x, pointer.y), this.camera);
    const hit = this.raycaster.intersectObject(this.mesh, false)[0];
    if (!hit) {
      this.setCursor(null);
      this.options.onReadout?.(null);
      return;
    }
    const { surface } = this.data;
    const i = nearestIndex(surface.xs, axisUnmap(surface.xs, 1)(hit.point.x));
    const j = nearestIndex(surface.ys, axisUnmap(surface.ys, -1)(hit.point.z));
    this.setCursor({ alpha: surface.xs[i] as number, beta: surface.ys[j] as number });
    this.options.onReadout?.(this.readoutAt(i, j));
  }

  /**
   * The current view as a PNG at `scale` × its on-screen size, drawn by a
   * second, offscreen renderer, so no control, cursor or readout is in it;
   * the axes' text in a colour that reads on `background`.
   */
  async toCanvas(scale: number, background: string | null): Promise<HTMLCanvasElement> {
    const { THREE } = this;
    const width = Math.round(this.options.container.clientWidth * scale);
    const height = Math.round(width * 0.8);
    const canvas = document.createElement('canvas');
    const renderer = new THREE.WebGLRenderer({
      canvas,
      antialias: true,
      alpha: background === null,
      preserveDrawingBuffer: true,
    });
    const ink = this.axes.currentInk;
    const font = getComputedStyle(this.options.container).fontFamily;
    const markerShown = this.marker.visible;
    try {
      renderer.setPixelRatio(1);
      renderer.setSize(width, height, false);
      if (background !== null) {
        renderer.setClearColor(new THREE.Color(background), 1);
        this.axes.setInk(inkFor(THREE, background, ink), font);
      }
      this.marker.visible = false;
      this.axes.place(this.camera);
      renderer.render(this.scene, this.camera);
      // Copy out of the WebGL canvas so its context can go at once.
      const copy = document.createElement('canvas');
      copy.width = width;
      copy.height = height;
      copy.getContext('2d')?.drawImage(canvas, 0, 0);
      return copy;
    } finally {
      this.marker.visible = markerShown;
      this.axes.setInk(ink, font);
      renderer.dispose();
      renderer.forceContextLoss();
    }
  }

  private disposeSurface(): void {
    for (const object of [this.mesh, this.lines]) {
      if (!object) continue;
      this.scene.remove(object);
      object.geometry.dispose();
      (object.material as Three.Material).dispose();
    }
    this.mesh = null;
    this.lines = null;
  }

  /** Free the GPU resources, listeners and the canvas. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pendingFrame !== 0) cancelAnimationFrame(this.pendingFrame);
    this.resizeObserver.disconnect();
    for (const [target, type, handler, options] of this.listeners) {
      target.removeEventListener(type, handler, options);
    }
    this.controls.dispose();
    this.disposeSurface();
    this.frame.geometry.dispose();
    (this.frame.material as Three.Material).dispose();
    this.axes.dispose();
    this.marker.traverse((object) => {
      if (object instanceof this.THREE.Points || object instanceof this.THREE.Line) {
        object.geometry.dispose();
        const material = object.material as Three.PointsMaterial;
        material.map?.dispose();
        material.dispose();
      }
    });
    this.axesText.remove();
    this.renderer.dispose();
    this.renderer.forceContextLoss();
    this.canvas.remove();
  }
}

/**
 * The text colour for axes drawn on `background`: the page's own ink when it
 * contrasts (as it does in an export on the page's background), else dark on
 * light or light on dark (a dark-mode view printed on white).
 */
function inkFor(THREE: ThreeModule, background: string, ink: string): string {
  const luminance = (css: string): number => {
    const c = new THREE.Color();
    c.setStyle(css);
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
  };
  const darkBackground = luminance(background) < 0.25;
  const darkInk = luminance(ink) < 0.25;
  if (darkBackground !== darkInk) return ink;
  return darkBackground ? '#e7e6e1' : '#1a1a1a';
}

/** Map an axis's range onto [−1, 1] (sign −1 flips it, for β along −Z). */
function axisMap(values: readonly number[], sign: 1 | -1): (v: number) => number {
  const lo = values[0] as number;
  const hi = values[values.length - 1] as number;
  const mid = (lo + hi) / 2;
  const half = hi > lo ? (hi - lo) / 2 : 1;
  return (v) => (sign * (v - mid)) / half;
}

function axisUnmap(values: readonly number[], sign: 1 | -1): (w: number) => number {
  const lo = values[0] as number;
  const hi = values[values.length - 1] as number;
  const mid = (lo + hi) / 2;
  const half = hi > lo ? (hi - lo) / 2 : 1;
  return (w) => mid + sign * w * half;
}
