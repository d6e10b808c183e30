/** Veit et al.'s unravelled view of residual networks: path lengths, gradients per length, lesions. */
export * from './blocks';
export * from './cost';
export * from './distribution';
export * from './gradient';
export * from './lesion';
export * from './summary';
export * from './artifact';
