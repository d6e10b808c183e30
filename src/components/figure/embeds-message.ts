/**
 * The message an embedded figure sends the page around it, as
 * `{ type: EMBED_HEIGHT_MESSAGE, slug, height }` (height in CSS pixels). Its
 * own module, so the embed page's script loads no figure code to send it.
 */
export const EMBED_HEIGHT_MESSAGE = 'skipscape:embed-height';
