/** The operator types Sluice ships, for the CLI's component registry. */
export { customOperator } from './custom.js';
export { dedupOperator } from './dedup.js';
export { filterOperator } from './filter.js';
export { routeOperator } from './route.js';
export { transformOperator } from './transform.js';
export { validateOperator } from './validate.js';
export type { CustomOperatorContext, CustomOperatorFunction } from './custom.js';
export type { DedupOperator, DedupStats } from './dedup.js';
export type { RouteOperator, RouteStats } from './route.js';
export type { RuleFunction, ValidateOperator } from './validate.js';
