export { runConnectors, installShutdownHandlers, type Engine, type EngineOptions, type ConnectorReport, type ShutdownOptions } from './engine.js';
export { ConnectorRunner, type RunnerOptions } from './connector-runner.js';
export { Pipeline, type PipelineOptions } from './pipeline.js';
export { BatchQueue, type CommitCycle } from './batch-queue.js';
export { isRetriable, describeError } from './classify.js';
export { backoffDelay } from './backoff.js';
export * from './types.js';
