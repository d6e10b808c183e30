/**
 * Save a file the page made (an export) through the browser's download
 * mechanism: an object URL on a temporary link, revoked once clicked.
 */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke after the click has been handled; the download keeps its own reference.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Save text as a file with the given MIME type. */
export function downloadText(text: string, filename: string, mime: string): void {
  downloadBlob(new Blob([text], { type: `${mime};charset=utf-8` }), filename);
}

/** A canvas as a PNG blob. */
export function canvasToPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (blob) resolve(blob);
      else reject(new Error('the browser could not encode the PNG (the image may be too large)'));
    }, 'image/png');
  });
}

/** Rasterise a standalone SVG string onto a canvas at `scale` × its own size. */
export async function svgToCanvas(
  svg: string,
  width: number,
  height: number,
  scale: number,
  background: string | null,
): Promise<HTMLCanvasElement> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2-D canvas context');
    if (background !== null) {
      context.fillStyle = background;
      context.fillRect(0, 0, canvas.width, canvas.height);
    }
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return canvas;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * The export actions of a figure drawn as one SVG (for ExportButtons): the
 * SVG itself, a PNG of it at 2× on white, and its CSV, each named `name`.
 */
export function svgFigureExports(
  name: string,
  file: () => { svg: string; width: number; height: number },
  csv: () => string,
): { svg: () => void; png: () => Promise<void>; csv: () => void } {
  return {
    svg: () => downloadText(file().svg, `${name}.svg`, 'image/svg+xml'),
    png: async () => {
      const f = file();
      const canvas = await svgToCanvas(f.svg, f.width, f.height, 2, '#ffffff');
      downloadBlob(await canvasToPng(canvas), `${name}@2x.png`);
    },
    csv: () => downloadText(csv(), `${name}.csv`, 'text/csv'),
  };
}
