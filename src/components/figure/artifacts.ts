/**
 * Shipped artifacts (public/artifacts, listed in manifest.json with their
 * sha256) as figures load them in the browser: fetched from this origin and
 * checked against the manifest's sum before use, so a stale cache or a
 * truncated download shows as an error, never as a wrong figure.
 */

/** One entry of public/artifacts/manifest.json. */
export interface ArtifactEntry {
  /** 'checkpoint', 'history', 'surface', 'hessian', 'trajectory', ... */
  kind: string;
  /** 'resnet20', 'resnet56', 'bmenet32', ... */
  model: string;
  skip: boolean;
  /** Relative to public/ (so to the site's base URL). */
  path: string;
  /** Hex sha256 of the file. */
  sha256: string;
}

/** Hex sha256 of bytes, or null where Web Crypto is missing (an insecure http: origin other than localhost). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string | null> {
  if (typeof crypto === 'undefined' || !crypto.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What {@link fetchArtifact} found. */
export interface FetchedArtifact {
  text: string;
  /** true when the sha256 matched; false when it could not be checked (no Web Crypto). */
  verified: boolean;
}

/**
 * Fetch an artifact's text and check its sha256. Throws with the path and
 * the reason on an HTTP error or a mismatch.
 */
export async function fetchArtifact(
  entry: Pick<ArtifactEntry, 'path' | 'sha256'>,
  base: string,
  signal?: AbortSignal,
): Promise<FetchedArtifact> {
  const url = `${base.replace(/\/?$/, '/')}${entry.path.replace(/^\//, '')}`;
  const response = await fetch(url, signal ? { signal } : {});
  if (!response.ok) throw new Error(`${entry.path}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const sum = await sha256Hex(bytes);
  if (sum !== null && sum !== entry.sha256.toLowerCase()) {
    throw new Error(
      `${entry.path}: sha256 ${sum.slice(0, 12)}… does not match the manifest's ${entry.sha256.slice(0, 12)}…`,
    );
  }
  return { text: new TextDecoder().decode(bytes), verified: sum !== null };
}
