/** The part of the Khronos glTF validator's API (npm gltf-validator, untyped) that the export tests use. */
declare module 'gltf-validator' {
  interface ValidationMessage {
    code: string;
    message: string;
    severity: number;
    pointer?: string;
  }
  interface ValidationReport {
    issues: {
      numErrors: number;
      numWarnings: number;
      numInfos: number;
      numHints: number;
      messages: ValidationMessage[];
    };
    info?: { drawCallCount?: number; totalVertexCount?: number; totalTriangleCount?: number };
  }
  export function validateBytes(
    data: Uint8Array,
    options?: { uri?: string; format?: 'gltf' | 'glb'; maxIssues?: number },
  ): Promise<ValidationReport>;
  const validator: { validateBytes: typeof validateBytes };
  export default validator;
}
