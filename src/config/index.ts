export * from './connector-config.js';
export * from './sluice-config.js';
export { loadConfigFiles, parseConfigSources, type ConfigSource, type LoadOptions } from './load.js';
export { ConfigProblemsError, formatPath, type ConfigProblem } from './problems.js';
export { PROPERTIES, lookupProperty, checkProperties, type PropertyInfo } from './properties.js';
export { substituteEnv, type Env } from './env.js';
